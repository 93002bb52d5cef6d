-- texts: every text in the lake (shipped reference corpus and generated ones), one row per text.
-- built by: make generate
create or replace view texts as
with source as (
    select * from read_parquet('${lake}/texts/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        text_id,
        corpus,
        source,
        emotion,
        displayed_emotion,
        topic,
        text,
        writer_model,
        prompt_hash,
        prompt_version,
        seed,
        temperature,
        spans,
        cast(created_at as timestamp) as created_at
    from source
)

select * from final

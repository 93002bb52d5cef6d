-- rejects: texts a quality filter refused, with the reason (names_emotion, too_short, too_long, duplicate, near_duplicate, bad_dialogue, not_english, repetitive) and what it found.
-- built by: make generate
create or replace view rejects as
with source as (
    select * from read_parquet('${lake}/rejects/**/*.parquet', hive_partitioning = true)
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
        reason,
        detail,
        cast(created_at as timestamp) as created_at
    from source
)

select * from final

-- evaluation_cosines: cosine similarity of every pair of probes of one (model, source, kind, layer) probe set.
-- built by: make evaluate
create or replace view evaluation_cosines as
with source as (
    select * from read_parquet('${lake}/evaluation_cosines/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        cast(emotion_a as varchar) as emotion_a,
        cast(emotion_b as varchar) as emotion_b,
        cosine
    from source
)

select * from final

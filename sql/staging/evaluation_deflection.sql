-- evaluation_deflection: per layer and emotion, cosine of its deflection and expression probes (if deflection exists).
-- built by: make evaluate
create or replace view evaluation_deflection as
with source as (
    select * from read_parquet('${lake}/deflection_vs_expression/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        cast(layer as integer) as layer,
        emotion,
        cosine,
        raw_cosine,
        unmatched_abs_cosine,
        norm_kept
    from source
)

select * from final

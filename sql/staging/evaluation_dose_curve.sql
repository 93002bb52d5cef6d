-- evaluation_dose_curve: probe scores of a user message whose quantity rises from harmless to dangerous.
-- built by: make evaluate
create or replace view evaluation_dose_curve as
with source as (
    select * from read_parquet('${lake}/dose_curve/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        template,
        dose_index,
        dose,
        kind,
        cast(layer as integer) as layer,
        emotion,
        score_mean,
        score_last
    from source
)

select * from final

-- evaluation_scenario_scores: mean probe score of each implicit scenario (emotion evoked, never named) per emotion.
-- built by: make evaluate
create or replace view evaluation_scenario_scores as
with source as (
    select * from read_parquet('${lake}/scenario_scores/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        scenario,
        target,
        kind,
        cast(layer as integer) as layer,
        emotion,
        score,
        "rank"
    from source
)

select * from final

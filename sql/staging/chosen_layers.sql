-- chosen_layers: per (model, source, kind), the layer the evaluation chose to read the probes at: the best held-out
-- top-1 among layers whose figure rests on enough texts per emotion (etl.probes.policy.best_of, the one home of the
-- rule); null when no layer has such a figure. The `best_layers` mart shows it with its figures.
-- built by: make evaluate
create or replace view chosen_layers as
with source as (
    select * from read_parquet('${lake}/chosen_layers/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer
    from source
)

select * from final

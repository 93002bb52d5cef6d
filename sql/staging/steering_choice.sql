-- steering_choice: the forced-choice experiment (docs/steering.md, "Behaviour: a forced choice"). Per condition
-- (`baseline`, an emotion's probe, `random_NN` directions: control), strength, situation and order (the approach
-- option shown first or second), the log-odds of the approach option's letter at the first answer position.
-- built by: make steer
create or replace view steering_choice as
with source as (
    select * from read_parquet('${lake}/steering_choice/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        sweep,
        condition,
        control,
        kind,
        layer,
        strength,
        situation,
        "order",
        logodds,
        cast(created_at as timestamp) as created_at
    from source
)

select * from final

-- steering_judged: a sweep's success rates with bootstrap 95% intervals, per reader and setting (scope `setting`)
-- and over all its runs (scope `overall`, setting columns null). Readers: `judged` (surgical and every judge agrees),
-- `own_probe` (surgical and the steered model's target probe rose) and each judge (surgical and that judge agrees).
-- built by: make steer
create or replace view steering_judged as
with source as (
    select * from read_parquet('${lake}/steering_judged/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        sweep,
        scope,
        kind,
        layer,
        emotion,
        strength,
        operator,
        positions,
        reader,
        n_runs,
        success_rate,
        success_low,
        success_high,
        agree_rate,
        mean_delta,
        mean_opposite_delta,
        cast(created_at as timestamp) as created_at
    from source
)

select * from final

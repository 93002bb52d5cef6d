-- steering_choice_effects: the forced choice's figures. Per contrast (`first - second`: a positive and a negative
-- emotion, or an emotion and the baseline) and strength: the mean over situations of the log-odds difference, its
-- bootstrap 95% interval over situations, and the null (the same statistic for every pair of random directions:
-- median and 95th percentile of its absolute value, and the share at least as large as the effect).
-- built by: make steer
create or replace view steering_choice_effects as
with source as (
    select * from read_parquet('${lake}/steering_choice_effects/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        sweep,
        contrast,
        first,
        second,
        kind,
        layer,
        strength,
        n_situations,
        effect,
        effect_low,
        effect_high,
        null_median_abs,
        null_p95_abs,
        null_p,
        n_null,
        effect > 0 and effect_low > 0 and effect > null_p95_abs as shown,
        cast(created_at as timestamp) as created_at
    from source
)

select * from final

-- cross_domain: probes built on one domain scoring the held-out texts of each domain (story, short, prompt), with a
-- bootstrap interval and the shuffled-label null; the query is centred on the mean emotional text of its own domain.
-- built by: make evaluate
create or replace view cross_domain as
with source as (
    select * from read_parquet('${lake}/cross_domain/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        test_domain,
        top1,
        top5,
        top1_low,
        top1_high,
        null_top1,
        chance_top1,
        n_test
    from source
)

select * from final

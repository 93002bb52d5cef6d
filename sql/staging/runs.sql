-- runs: the manifest, one row per finished stage run (config hash, model, code version, counts, time).
-- built by: any make stage target
create or replace view runs as
with source as (
    select * from read_parquet('${lake}/manifest/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        stage,
        run_key,
        preset,
        config_hash,
        model,
        code_version,
        rows_read,
        rows_written,
        details,
        cast(started_at as timestamp) as started_at,
        seconds
    from source
)

select * from final

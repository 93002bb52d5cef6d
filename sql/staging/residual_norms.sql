-- residual_norms: mean per-token residual-stream norm per (model, layer) on neutral text, the unit of steering strength.
-- built by: make steer
create or replace view residual_norms as
with source as (
    select * from read_parquet('${lake}/residual_norms/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        corpus,
        cast(layer as integer) as layer,
        mean_norm,
        n_texts,
        n_requested,
        n_tokens,
        cast(created_at as timestamp) as created_at
    from source
)

select * from final

-- probes: one unit vector per (model, source, kind, layer, emotion), with provenance.
-- built by: make probes
create or replace view probes as
with source as (
    select * from read_parquet('${lake}/probes/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        emotion,
        vector,
        n_texts,
        norm_kept,
        baseline_corpora,
        baseline_variance,
        baseline_components,
        variance_removed,
        estimator,
        config_hash,
        model_spec,
        cast(created_at as timestamp) as created_at
    from source
)

select * from final

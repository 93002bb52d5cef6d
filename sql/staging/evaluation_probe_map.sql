-- evaluation_probe_map: each probe on its set's PC1/PC2 plane (oriented to valence/arousal), norms, k-means cluster.
-- built by: make evaluate
create or replace view evaluation_probe_map as
with source as (
    select * from read_parquet('${lake}/probe_map/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        emotion,
        pc1,
        pc2,
        valence,
        arousal,
        cluster
    from source
)

select * from final

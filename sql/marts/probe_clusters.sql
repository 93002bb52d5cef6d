-- probe_clusters: the k-means clusters of each probe set, with their members (by PC1, high to low) and mean norms.
-- built by: make evaluate
create or replace view probe_clusters as
with probe_map as (
    select * from evaluation_probe_map
),

final as (
    select
        model,
        source,
        kind,
        layer,
        cluster,
        count(*) as size,
        list(emotion order by pc1 desc) as members,
        avg(valence) as mean_valence,
        avg(arousal) as mean_arousal
    from probe_map
    group by model, source, kind, layer, cluster
)

select * from final

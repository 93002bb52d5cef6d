-- probe_map: every probe on its probe set's PC1/PC2 plane, with valence/arousal norms (null if unrated) and cluster.
-- built by: make evaluate
create or replace view probe_map as
with probe_map as (
    select * from evaluation_probe_map
),

final as (
    select model, source, kind, layer, emotion, pc1, pc2, valence, arousal, cluster
    from probe_map
)

select * from final

-- best_layers: for each model, source and kind, the layer with the best held-out top-1.
-- built by: make evaluate
create or replace view best_layers as
with ranked as (
    select
        *,
        row_number() over (partition by model, source, kind order by top1 desc nulls last, layer) as rank_top1
    from evaluation_layers
),

final as (
    select
        model,
        source,
        kind,
        layer,
        top1,
        top5,
        chance_top1,
        pc1_valence_r,
        pc2_arousal_r,
        valence_decoded_r,
        split_half_cos
    from ranked
    where rank_top1 = 1
)

select * from final

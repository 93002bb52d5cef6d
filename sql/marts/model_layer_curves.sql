-- model_layer_curves: every evaluated layer of every model with its relative depth ((layer + 1) / n_layers), so
-- models of different depths share one axis: held-out top-1 with its interval, short-text top-1, PC1-valence r.
-- built by: make compare (or make evaluate with two models in the lake)
create or replace view model_layer_curves as
with depth as (
    select distinct model, n_layers
    from model_agreement
    where n_layers is not null
),

final as (
    select
        ev.model,
        ev.source,
        ev.kind,
        ev.layer,
        depth.n_layers,
        (ev.layer + 1) / depth.n_layers as relative_depth,
        ev.top1,
        ev.top1_low,
        ev.top1_high,
        ev.short_top1,
        ev.pc1_valence_r
    from evaluation_layers as ev
    inner join depth on depth.model = ev.model
    order by ev.model, ev.source, ev.kind, ev.layer
)

select * from final

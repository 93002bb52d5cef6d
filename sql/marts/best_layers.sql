-- best_layers: for each model, source and kind, the layer with the best held-out top-1, with its figures. The layer
-- is the evaluation's choice (chosen_layers, decided by etl.probes.policy.best_of): this view applies no rule of
-- its own. degenerate: no layer's held-out figure rests on enough texts per emotion
-- (etl.probes.policy.MIN_HELD_OUT_PER_EMOTION), so the layer and its figures are null rather than picked from
-- noise. held_out_per_emotion: n_test / n_emotions at the layer (degenerate: the most any layer held out).
-- built by: make evaluate
create or replace view best_layers as
with most_held_out as (
    select model, source, kind, max(n_test / n_emotions) as per_emotion
    from evaluation_layers
    group by model, source, kind
),

final as (
    select
        chosen.model,
        chosen.source,
        chosen.kind,
        chosen.layer,
        ev.top1,
        ev.top5,
        ev.chance_top1,
        ev.pc1_valence_r,
        ev.pc2_arousal_r,
        ev.valence_decoded_r,
        ev.split_half_cos,
        chosen.layer is null as degenerate,
        round(coalesce(ev.n_test / ev.n_emotions, most_held_out.per_emotion), 1) as held_out_per_emotion
    from chosen_layers as chosen
    left join evaluation_layers as ev
        on ev.model = chosen.model and ev.source = chosen.source and ev.kind = chosen.kind and ev.layer = chosen.layer
    left join most_held_out
        on most_held_out.model = chosen.model and most_held_out.source = chosen.source
        and most_held_out.kind = chosen.kind
)

select * from final

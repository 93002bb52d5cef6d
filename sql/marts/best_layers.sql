-- best_layers: for each model, source and kind, the layer with the best held-out top-1.
-- degenerate: the set's evaluation held out fewer than 3 texts per emotion at every layer (n_test < 3 * n_emotions,
-- the rule of etl.lake.probes.MIN_HELD_OUT_PER_EMOTION), or none at all: it has no held-out figure to rank layers
-- by, so its layer is null rather than a layer picked from noise. held_out_per_emotion: n_test / n_emotions.
-- built by: make evaluate
create or replace view best_layers as
with flagged as (
    select
        *,
        coalesce(top1 is null or n_test < 3 * n_emotions, true) as degenerate
    from evaluation_layers
),

ranked as (
    select
        *,
        row_number() over (
            partition by model, source, kind order by degenerate, top1 desc nulls last, layer
        ) as rank_top1
    from flagged
),

final as (
    select
        model,
        source,
        kind,
        case when degenerate then null else layer end as layer,
        top1,
        top5,
        chance_top1,
        pc1_valence_r,
        pc2_arousal_r,
        valence_decoded_r,
        split_half_cos,
        degenerate,
        round(n_test / n_emotions, 1) as held_out_per_emotion
    from ranked
    where rank_top1 = 1
)

select * from final

-- model_comparison: models side by side, one row per (model, source, kind, other model): the best layer and its
-- relative depth, the evaluation's figures there (held-out top-1 with its interval and shuffled-label null,
-- short-text top-1, PC1-valence and PC2-arousal r, split-half cosine), and the agreement with the other model:
-- Spearman r between the two 171x171 probe cosine matrices and between their valence axes. A pair is read from
-- whichever model's evaluation computed it (the later one); other_model is null for a model with no partner.
-- built by: make compare (or make evaluate with two models in the lake)
create or replace view model_comparison as
with own as (
    select model, source, kind, layer, n_layers, relative_depth, created_at
    from model_agreement
    qualify row_number() over (partition by model, source, kind order by created_at desc) = 1
),

pairs as (
    select model, source, kind, other_model, n_emotions, cosine_spearman, valence_spearman, created_at
    from model_agreement
    where other_model is not null
    union all
    select other_model as model, source, kind, model as other_model, n_emotions, cosine_spearman, valence_spearman,
        created_at
    from model_agreement
    where other_model is not null
),

latest_pairs as (
    select *
    from pairs
    qualify row_number() over (partition by model, source, kind, other_model order by created_at desc) = 1
),

final as (
    select
        own.model,
        own.source,
        own.kind,
        own.layer as best_layer,
        own.n_layers,
        own.relative_depth,
        ev.top1,
        ev.top1_low,
        ev.top1_high,
        ev.null_top1,
        ev.chance_top1,
        ev.short_top1,
        ev.pc1_valence_r,
        ev.pc2_arousal_r,
        ev.split_half_cos,
        latest_pairs.other_model,
        latest_pairs.n_emotions as shared_emotions,
        latest_pairs.cosine_spearman,
        latest_pairs.valence_spearman
    from own
    left join evaluation_layers as ev
        on ev.model = own.model and ev.source = own.source and ev.kind = own.kind and ev.layer = own.layer
    left join latest_pairs
        on latest_pairs.model = own.model and latest_pairs.source = own.source and latest_pairs.kind = own.kind
    order by own.source, own.kind, own.model, latest_pairs.other_model
)

select * from final

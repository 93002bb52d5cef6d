-- the most similar pairs of emotion probes at each model's best layer
with best as (
    select model, source, kind, layer from best_layers
),

layer_probes as (
    select probes.model, probes.emotion, probes.vector
    from probes
    join best using (model, source, kind, layer)
),

final as (
    select a.model, a.emotion as emotion_a, b.emotion as emotion_b, list_cosine_similarity(a.vector, b.vector) as cosine
    from layer_probes as a
    join layer_probes as b on a.model = b.model and a.emotion < b.emotion
)

select * from final
order by cosine desc
limit 10

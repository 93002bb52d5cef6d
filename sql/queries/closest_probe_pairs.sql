-- the most similar pairs of emotion probes: one probe set (the reference expression probes at their best layer),
-- each pair once. Comparing probes across sources or kinds would pair an emotion with itself under two names.
with chosen as (
    select model, source, kind, layer
    from best_layers
    where source = 'reference' and kind = 'expression' and not degenerate
),

layer_probes as (
    select probes.model, probes.emotion, probes.vector
    from probes
    join chosen using (model, source, kind, layer)
),

final as (
    select
        a.model,
        a.emotion as emotion_a,
        b.emotion as emotion_b,
        round(list_cosine_similarity(a.vector, b.vector), 3) as cosine
    from layer_probes as a
    join layer_probes as b on a.model = b.model and a.emotion < b.emotion
)

select * from final
order by cosine desc, emotion_a, emotion_b
limit 10

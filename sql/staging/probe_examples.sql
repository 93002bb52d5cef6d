-- probe_examples: each probe's top-scoring lake texts per domain (story, short), by the cosine of the text's
-- centred mean residual with the probe; label is the text's own emotion (null: neutral); tokens/token_scores are
-- per-token cosines of the first few (null when the evaluation did not load the model).
-- built by: make evaluate
create or replace view probe_examples as
with source as (
    select * from read_parquet('${lake}/probe_examples/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        emotion,
        domain,
        rank,
        text_id,
        corpus,
        label,
        text,
        score,
        tokens,
        token_scores
    from source
)

select * from final

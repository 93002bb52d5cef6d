-- scores: per-token probe scores of scored texts, one row per (text, token, model, source, kind, layer, emotion).
-- built by: emolake score --input FILE --text-column COL
create or replace view scores as
with source as (
    select * from read_parquet('${lake}/scores/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        text_id,
        token_idx,
        token,
        char_start,
        char_end,
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        emotion,
        score
    from source
)

select * from final

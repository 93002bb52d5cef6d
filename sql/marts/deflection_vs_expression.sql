-- deflection_vs_expression: matched deflection/expression probe pairs per layer (the paper reports cosine ~0.05).
-- built by: make evaluate
create or replace view deflection_vs_expression as
with pairs as (
    select * from evaluation_deflection
),

final as (
    select
        model,
        source,
        layer,
        emotion,
        cosine,
        abs(cosine) as abs_cosine,
        raw_cosine,
        unmatched_abs_cosine,
        norm_kept
    from pairs
)

select * from final

-- scenario_scores: each implicit scenario's score on every emotion's probe, z-scored within the scenario.
-- built by: make evaluate
create or replace view scenario_scores as
with scores as (
    select * from evaluation_scenario_scores
),

standardised as (
    select
        *,
        (score - avg(score) over scenario_row) / nullif(stddev_pop(score) over scenario_row, 0) as z
    from scores
    window scenario_row as (partition by model, source, scenario, kind, layer)
),

final as (
    select
        model,
        source,
        scenario,
        target,
        kind,
        layer,
        emotion,
        score,
        z,
        "rank",
        emotion = target as is_target
    from standardised
)

select * from final

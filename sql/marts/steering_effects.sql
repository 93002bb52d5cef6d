-- steering_effects: how steering toward one emotion moves every probe, per setting (does joy lower sadness?).
-- built by: make steer
create or replace view steering_effects as
with scores as (
    select
        model,
        sweep,
        operator,
        positions,
        layer,
        emotion,
        strength,
        unnest(map_keys(steered_scores)) as probe_emotion,
        unnest(map_values(steered_scores)) as steered_score,
        unnest(map_values(baseline_scores)) as baseline_score
    from steering_runs
),

final as (
    select
        model,
        sweep,
        operator,
        positions,
        layer,
        emotion,
        strength,
        probe_emotion,
        probe_emotion = emotion as is_target,
        count(steered_score - baseline_score) as n_runs,
        avg(steered_score - baseline_score) as mean_delta,
        avg(baseline_score) as mean_baseline,
        avg((steered_score > baseline_score)::integer) as up_rate
    from scores
    group by all
)

select * from final

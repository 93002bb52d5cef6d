-- steering_effects: how steering toward one emotion moves every probe, per setting (does joy lower sadness?).
-- built by: make steer
create or replace view steering_effects as
with settings as (
    select distinct setting_id, model, sweep, kind, operator, positions, layer, emotion, strength
    from steering_runs
),

scores as (
    select
        setting_id,
        emotion,
        unnest(map_keys(steered_scores)) as probe_emotion,
        unnest(map_values(steered_scores)) as steered_score,
        unnest(map_values(baseline_scores)) as baseline_score
    from steering_runs
),

deltas as (
    select
        setting_id,
        probe_emotion,
        probe_emotion = emotion as is_target,
        count(steered_score - baseline_score) as n_runs,
        avg(steered_score - baseline_score) as mean_delta,
        avg(baseline_score) as mean_baseline,
        avg((steered_score > baseline_score)::integer) as up_rate
    from scores
    group by setting_id, probe_emotion, is_target
),

final as (
    select
        d.setting_id,
        s.model,
        s.sweep,
        s.kind,
        s.operator,
        s.positions,
        s.layer,
        s.emotion,
        s.strength,
        d.probe_emotion,
        d.is_target,
        d.n_runs,
        d.mean_delta,
        d.mean_baseline,
        d.up_rate
    from deltas as d
    join settings as s using (setting_id)
)

select * from final

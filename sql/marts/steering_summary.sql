-- steering_summary: per sweep setting (layer, emotion, strength): success rate, regimes, boundary and side effects.
-- built by: make steer
create or replace view steering_summary as
with per_setting as (
    select
        model,
        sweep,
        operator,
        positions,
        layer,
        emotion,
        strength,
        count(*) as n_runs,
        avg(success::integer) as success_rate,
        avg((target_delta > 0)::integer) as target_up_rate,
        avg((regime = 'surgical')::integer) as surgical_rate,
        avg((regime = 'repetitive')::integer) as repetitive_rate,
        avg((regime = 'explosive')::integer) as explosive_rate,
        avg(target_delta) as mean_target_delta,
        median(perplexity_ratio) as median_perplexity_ratio,
        avg(repetition_rate) as mean_repetition,
        avg(baseline_repetition) as mean_baseline_repetition
    from steering_runs
    group by all
),

boundaries as (
    -- the smallest positive strength at which fewer than half of the runs stay surgical
    select
        model,
        sweep,
        operator,
        positions,
        layer,
        emotion,
        min(strength) filter (where strength > 0 and surgical_rate < 0.5) as leaves_surgical_at
    from per_setting
    group by all
),

ranked_effects as (
    select
        *,
        rank() over (partition by model, sweep, operator, positions, layer, emotion, strength order by mean_delta desc)
            as delta_rank,
        row_number() over (
            partition by model, sweep, operator, positions, layer, emotion, strength, is_target order by mean_delta desc
        ) as raised_order,
        row_number() over (
            partition by model, sweep, operator, positions, layer, emotion, strength, is_target order by mean_delta asc
        ) as lowered_order
    from steering_effects
),

side_effects as (
    select
        model,
        sweep,
        operator,
        positions,
        layer,
        emotion,
        strength,
        max(delta_rank) filter (where is_target) as target_delta_rank,
        count(*) as n_probes,
        avg(abs(mean_delta)) filter (where not is_target) as mean_abs_off_target_delta,
        max(probe_emotion) filter (where not is_target and raised_order = 1) as most_raised_other,
        max(mean_delta) filter (where not is_target and raised_order = 1) as most_raised_delta,
        max(probe_emotion) filter (where not is_target and lowered_order = 1) as most_lowered_other,
        max(mean_delta) filter (where not is_target and lowered_order = 1) as most_lowered_delta
    from ranked_effects
    group by all
),

final as (
    select
        p.model,
        p.sweep,
        p.operator,
        p.positions,
        p.layer,
        p.emotion,
        p.strength,
        p.n_runs,
        p.success_rate,
        p.target_up_rate,
        p.surgical_rate,
        p.repetitive_rate,
        p.explosive_rate,
        p.mean_target_delta,
        s.target_delta_rank,
        s.n_probes,
        p.median_perplexity_ratio,
        p.mean_repetition,
        p.mean_baseline_repetition,
        b.leaves_surgical_at,
        s.mean_abs_off_target_delta,
        s.most_raised_other,
        s.most_raised_delta,
        s.most_lowered_other,
        s.most_lowered_delta
    from per_setting as p
    left join boundaries as b using (model, sweep, operator, positions, layer, emotion)
    left join side_effects as s using (model, sweep, operator, positions, layer, emotion, strength)
)

select * from final

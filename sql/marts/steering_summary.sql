-- steering_summary: per sweep setting (kind, layer, emotion, strength, operator, positions): the judged success rate
-- (surgical and every judge agrees the target's family or valence rose) and each judge's, with bootstrap 95%
-- intervals; the own-probe success rate (`success_rate`: the steered model's own reading), regimes, boundary and side
-- effects (each judge's mean change on the opposite valence; the own probes' most raised and lowered emotions).
-- `control` settings steer a null direction (docs/steering.md): their rates are what chance agreement gives.
-- built by: make steer
create or replace view steering_summary as
with settings as (
    select distinct setting_id, model, sweep, kind, control, operator, positions, layer, emotion, strength
    from steering_runs
),

per_setting as (
    select
        setting_id,
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
    group by setting_id
),

boundaries as (
    -- the smallest positive strength at which fewer than half of the runs stay surgical, along each strength curve
    -- (the settings that differ only in strength)
    select
        s.setting_id,
        min(s.strength) filter (where s.strength > 0 and p.surgical_rate < 0.5)
            over (partition by s.model, s.sweep, s.kind, s.operator, s.positions, s.layer, s.emotion)
            as leaves_surgical_at
    from settings as s
    join per_setting as p using (setting_id)
),

ranked_effects as (
    select
        setting_id,
        probe_emotion,
        is_target,
        mean_delta,
        rank() over (partition by setting_id order by mean_delta desc) as delta_rank,
        row_number() over (partition by setting_id, is_target order by mean_delta desc) as raised_order,
        row_number() over (partition by setting_id, is_target order by mean_delta asc) as lowered_order
    from steering_effects
),

side_effects as (
    select
        setting_id,
        max(delta_rank) filter (where is_target) as target_delta_rank,
        count(*) as n_probes,
        avg(abs(mean_delta)) filter (where not is_target) as mean_abs_off_target_delta,
        max(probe_emotion) filter (where not is_target and raised_order = 1) as most_raised_other,
        max(mean_delta) filter (where not is_target and raised_order = 1) as most_raised_delta,
        max(probe_emotion) filter (where not is_target and lowered_order = 1) as most_lowered_other,
        max(mean_delta) filter (where not is_target and lowered_order = 1) as most_lowered_delta
    from ranked_effects
    group by setting_id
),

judged as (
    select
        model,
        sweep,
        kind,
        layer,
        emotion,
        strength,
        operator,
        positions,
        max(success_rate) filter (where reader = 'judged') as judged_success_rate,
        max(success_low) filter (where reader = 'judged') as judged_success_low,
        max(success_high) filter (where reader = 'judged') as judged_success_high,
        max(success_rate) filter (where reader = 'nrc_lexicon') as nrc_lexicon_success_rate,
        max(success_low) filter (where reader = 'nrc_lexicon') as nrc_lexicon_success_low,
        max(success_high) filter (where reader = 'nrc_lexicon') as nrc_lexicon_success_high,
        max(success_rate) filter (where reader = 'tfidf_family') as tfidf_family_success_rate,
        max(success_low) filter (where reader = 'tfidf_family') as tfidf_family_success_low,
        max(success_high) filter (where reader = 'tfidf_family') as tfidf_family_success_high,
        max(success_low) filter (where reader = 'own_probe') as own_probe_success_low,
        max(success_high) filter (where reader = 'own_probe') as own_probe_success_high,
        max(agree_rate) filter (where reader = 'nrc_lexicon') as nrc_lexicon_agree_rate,
        max(agree_rate) filter (where reader = 'tfidf_family') as tfidf_family_agree_rate,
        max(mean_delta) filter (where reader = 'nrc_lexicon') as nrc_lexicon_mean_delta,
        max(mean_delta) filter (where reader = 'tfidf_family') as tfidf_family_mean_delta,
        max(mean_opposite_delta) filter (where reader = 'nrc_lexicon') as nrc_lexicon_opposite_delta,
        max(mean_opposite_delta) filter (where reader = 'tfidf_family') as tfidf_family_opposite_delta
    from steering_judged
    where scope = 'setting'
    group by model, sweep, kind, layer, emotion, strength, operator, positions
),

final as (
    select
        s.setting_id,
        s.model,
        s.sweep,
        s.kind,
        s.control,
        s.operator,
        s.positions,
        s.layer,
        s.emotion,
        s.strength,
        p.n_runs,
        j.judged_success_rate,
        j.judged_success_low,
        j.judged_success_high,
        j.nrc_lexicon_success_rate,
        j.nrc_lexicon_success_low,
        j.nrc_lexicon_success_high,
        j.tfidf_family_success_rate,
        j.tfidf_family_success_low,
        j.tfidf_family_success_high,
        j.nrc_lexicon_agree_rate,
        j.tfidf_family_agree_rate,
        p.success_rate,
        j.own_probe_success_low as success_low,
        j.own_probe_success_high as success_high,
        p.target_up_rate,
        p.surgical_rate,
        p.repetitive_rate,
        p.explosive_rate,
        p.mean_target_delta,
        e.target_delta_rank,
        e.n_probes,
        p.median_perplexity_ratio,
        p.mean_repetition,
        p.mean_baseline_repetition,
        b.leaves_surgical_at,
        e.mean_abs_off_target_delta,
        e.most_raised_other,
        e.most_raised_delta,
        e.most_lowered_other,
        e.most_lowered_delta,
        j.nrc_lexicon_mean_delta,
        j.tfidf_family_mean_delta,
        j.nrc_lexicon_opposite_delta,
        j.tfidf_family_opposite_delta
    from settings as s
    join per_setting as p using (setting_id)
    left join boundaries as b using (setting_id)
    left join side_effects as e using (setting_id)
    left join judged as j
        on
            s.model = j.model
            and s.sweep = j.sweep
            and s.kind = j.kind
            and s.layer = j.layer
            and s.emotion = j.emotion
            and s.strength = j.strength
            and s.operator = j.operator
            and s.positions = j.positions
)

select * from final

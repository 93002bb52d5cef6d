-- steering_best: per model, sweep and target emotion, the best setting of the sweep (the pre-registered rule of
-- docs/steering.md: the highest judged success rate; ties to the higher surgical rate, then the lower strength), with
-- its interval, each judge's rate and the own-probe rate. A maximum over settings reads high (selection). Control
-- settings (null directions) are never chosen.
-- built by: make steer
create or replace view steering_best as
with ranked as (
    select
        *,
        count(*) over (partition by model, sweep, emotion) as n_settings,
        row_number() over (
            partition by model, sweep, emotion
            order by judged_success_rate desc nulls last, surgical_rate desc, strength asc, kind asc, layer asc
        ) as setting_rank
    from steering_summary
    where not control
),

final as (
    select
        model,
        sweep,
        emotion,
        n_settings,
        kind,
        layer,
        strength,
        operator,
        positions,
        n_runs,
        judged_success_rate,
        judged_success_low,
        judged_success_high,
        nrc_lexicon_success_rate,
        tfidf_family_success_rate,
        success_rate as own_probe_success_rate,
        surgical_rate,
        median_perplexity_ratio,
        nrc_lexicon_opposite_delta,
        tfidf_family_opposite_delta,
        most_lowered_other,
        most_lowered_delta
    from ranked
    where setting_rank = 1
)

select * from final

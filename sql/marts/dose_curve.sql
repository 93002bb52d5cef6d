-- dose_curve: probe scores along each dose-escalation template, with the change from the harmless first dose.
-- built by: make evaluate
create or replace view dose_curve as
with doses as (
    select * from evaluation_dose_curve
),

with_start as (
    select
        *,
        first_value(score_mean) over (
            partition by model, source, template, kind, layer, emotion order by dose_index
        ) as start_mean
    from doses
),

final as (
    select
        model,
        source,
        template,
        dose_index,
        dose,
        kind,
        layer,
        emotion,
        score_mean,
        score_last,
        score_mean - start_mean as change_from_first
    from with_start
)

select * from final

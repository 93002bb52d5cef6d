-- logit_lens: per probe, the tokens it promotes and suppresses most relative to the other probes of its set.
-- built by: make evaluate
create or replace view logit_lens as
with lens as (
    select * from evaluation_logit_lens
),

final as (
    select
        model,
        source,
        kind,
        layer,
        emotion,
        list(token order by "rank") filter (where "end" = 'top') as top_tokens,
        list(token order by "rank") filter (where "end" = 'bottom') as bottom_tokens,
        list(relative order by "rank") filter (where "end" = 'top') as top_relative,
        list(relative order by "rank") filter (where "end" = 'bottom') as bottom_relative
    from lens
    group by model, source, kind, layer, emotion
)

select * from final

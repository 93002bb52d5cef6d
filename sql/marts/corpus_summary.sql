-- corpus_summary: texts and rejects per source and corpus.
create or replace view corpus_summary as
with kept as (
    select source, corpus, count(*) as n_texts, count(distinct emotion) as n_emotions
    from texts
    group by all
),

rejected as (
    select source, corpus, count(*) as n_rejected
    from rejects
    group by all
),

final as (
    select
        kept.source,
        kept.corpus,
        kept.n_texts,
        kept.n_emotions,
        coalesce(rejected.n_rejected, 0) as n_rejected
    from kept
    left join rejected using (source, corpus)
)

select * from final

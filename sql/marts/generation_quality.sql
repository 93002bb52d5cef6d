-- generation_quality: per source, corpus and emotion: texts generated, kept and rejected, reject rates by reason, word lengths of kept texts.
-- built by: make generate
create or replace view generation_quality as
with kept as (
    select
        source,
        corpus,
        emotion,
        len(regexp_extract_all(text, '[A-Za-z]+(?:[-''][A-Za-z]+)*')) as n_words
    from texts
),

kept_stats as (
    select
        source,
        corpus,
        emotion,
        count(*) as n_kept,
        min(n_words) as words_min,
        round(avg(n_words), 1) as words_mean,
        median(n_words) as words_median,
        max(n_words) as words_max
    from kept
    group by all
),

reject_counts as (
    select source, corpus, emotion, reason, count(*) as n
    from rejects
    group by all
),

reject_stats as (
    select
        source,
        corpus,
        emotion,
        sum(n) as n_rejected,
        sum(n) filter (where reason = 'names_emotion') as n_names_emotion,
        sum(n) filter (where reason = 'too_short') as n_too_short,
        sum(n) filter (where reason = 'too_long') as n_too_long,
        sum(n) filter (where reason = 'duplicate') as n_duplicate,
        sum(n) filter (where reason = 'near_duplicate') as n_near_duplicate,
        sum(n) filter (where reason = 'bad_dialogue') as n_bad_dialogue,
        sum(n) filter (where reason = 'not_english') as n_not_english,
        sum(n) filter (where reason = 'repetitive') as n_repetitive,
        to_json(map_from_entries(list(struct_pack(k := reason, v := n) order by reason))) as rejects_by_reason
    from reject_counts
    group by all
),

joined as (
    select
        coalesce(k.source, r.source) as source,
        coalesce(k.corpus, r.corpus) as corpus,
        coalesce(k.emotion, r.emotion) as emotion,
        coalesce(k.n_kept, 0) as n_kept,
        coalesce(r.n_rejected, 0) as n_rejected,
        r.* exclude (source, corpus, emotion, n_rejected),
        k.* exclude (source, corpus, emotion, n_kept)
    from kept_stats as k
    full outer join reject_stats as r
        on
            k.source = r.source
            and k.corpus = r.corpus
            and k.emotion is not distinct from r.emotion
),

final as (
    select
        source,
        corpus,
        emotion,
        n_kept + n_rejected as n_generated,
        n_kept,
        n_rejected,
        round(n_rejected / (n_kept + n_rejected), 4) as reject_rate,
        round(coalesce(n_names_emotion, 0) / (n_kept + n_rejected), 4) as rate_names_emotion,
        round(coalesce(n_too_short, 0) / (n_kept + n_rejected), 4) as rate_too_short,
        round(coalesce(n_too_long, 0) / (n_kept + n_rejected), 4) as rate_too_long,
        round(coalesce(n_duplicate, 0) / (n_kept + n_rejected), 4) as rate_duplicate,
        round(coalesce(n_near_duplicate, 0) / (n_kept + n_rejected), 4) as rate_near_duplicate,
        round(coalesce(n_bad_dialogue, 0) / (n_kept + n_rejected), 4) as rate_bad_dialogue,
        round(coalesce(n_not_english, 0) / (n_kept + n_rejected), 4) as rate_not_english,
        round(coalesce(n_repetitive, 0) / (n_kept + n_rejected), 4) as rate_repetitive,
        rejects_by_reason,
        words_min,
        words_mean,
        words_median,
        words_max
    from joined
)

select * from final

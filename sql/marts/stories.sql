-- stories: the emotional stories, with their emotion's group and valence/arousal norms where rated.
create or replace view stories as
with texts as (
    select * from texts where corpus = 'emotional_story'
),

final as (
    select
        texts.text_id,
        texts.source,
        texts.emotion,
        texts.topic,
        texts.text,
        texts.writer_model,
        texts.prompt_hash,
        texts.seed,
        texts.created_at,
        length(texts.text) as n_chars
    from texts
)

select * from final

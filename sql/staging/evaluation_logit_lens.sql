-- evaluation_logit_lens: the tokens each probe promotes (top) and suppresses (bottom) through the unembedding.
-- built by: make evaluate
create or replace view evaluation_logit_lens as
with source as (
    select * from read_parquet('${lake}/logit_lens/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        emotion,
        "end",
        "rank",
        token_id,
        token,
        logit,
        relative
    from source
)

select * from final

-- prompts: every writing template a source used, stored once by hash, so that a text's prompt_hash can be joined
-- back to the exact words that were sent (join texts on prompt_hash and corpus).
-- built by: make generate
create or replace view prompts as
with source as (
    select * from read_parquet('${lake}/prompts/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        prompt_hash,
        prompt_version,
        source,
        corpus,
        template
    from source
)

select * from final

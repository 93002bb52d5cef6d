-- activations: the index of the float16 shards, one row per (text, segment, model, layer).
-- built by: make extract
create or replace view activations as
with source as (
    select * from read_parquet('${lake}/activations/**/*.parquet', hive_partitioning = true, union_by_name = true)
),

final as (
    select
        text_id,
        coalesce(segment, 'text') as segment,
        model,
        cast(layer as integer) as layer,
        corpus,
        source,
        npy_path,
        shard,
        row as row_offset,
        n_tokens,
        n_used,
        skip_tokens,
        settings_hash,
        status
    from source
)

select * from final

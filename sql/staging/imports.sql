-- imports: one row per input file that `emolake import` landed (source `import--NAME`): the published dataset, its
-- revision and licence, the writer model it states, how its columns were mapped, and how many rows were kept.
-- built by: emolake import (or the generate stage of a preset with an import:NAME source)
create or replace view imports as
with source as (
    select * from read_parquet('${lake}/imports/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        source,
        file,
        file_sha256,
        dataset,
        revision,
        licence,
        writer_model,
        mapping,
        rows_read,
        rows_kept,
        rows_rejected,
        cast(imported_at as timestamp) as imported_at
    from source
)

select * from final

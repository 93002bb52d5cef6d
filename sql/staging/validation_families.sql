-- validation_families: per validated probe set (`emolake validate`), how many texts of each emotion family were
-- predicted as each family (only the pairs that occur).
-- built by: emolake validate --input FILE --text-column C --label-column L
create or replace view validation_families as
with source as (
    select * from read_parquet('${lake}/validation_families/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        run_id,
        model,
        source,
        input,
        kind,
        cast(layer as integer) as layer,
        true_family,
        predicted_family,
        n
    from source
)

select * from final

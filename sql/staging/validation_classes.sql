-- validation_classes: per validated probe set (`emolake validate`), each label's precision, recall, F1 and support,
-- with the emotion's family; join validation_runs on run_id for the run's figures.
-- built by: emolake validate --input FILE --text-column C --label-column L
create or replace view validation_classes as
with source as (
    select * from read_parquet('${lake}/validation_classes/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        run_id,
        model,
        source,
        input,
        kind,
        cast(layer as integer) as layer,
        emotion,
        family,
        precision,
        recall,
        f1,
        support
    from source
)

select * from final

-- validation_runs: probe sets scored on labelled texts a user brought (`emolake validate`): accuracy and macro-F1
-- with bootstrap 95% intervals, chance (1 / the number of label classes), per-class F1 and the confusion (JSON).
-- built by: emolake validate --input FILE --text-column C --label-column L
create or replace view validation_runs as
with source as (
    select * from read_parquet('${lake}/validation_runs/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        run_id,
        model,
        source,
        input,
        input_hash,
        kind,
        cast(layer as integer) as layer,
        n_texts,
        n_classes,
        chance,
        accuracy,
        accuracy_low,
        accuracy_high,
        macro_f1,
        macro_f1_low,
        macro_f1_high,
        per_class_f1,
        confusion,
        cast(created_at as timestamp) as created_at
    from source
)

select * from final

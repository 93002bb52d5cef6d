-- nested_selection: per test domain (story, short), the default set's held-out top-1 with the set chosen inside each
-- outer fold (nested) by the default rule on figures that never saw that fold, beside the figure of the set chosen
-- on all folds (selected_*); choices lists each outer fold's pick as fold:kind@layer.
-- built by: make evaluate
create or replace view nested_selection as
with source as (
    select * from read_parquet('${lake}/nested_selection/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        test_domain,
        top1,
        top5,
        top1_low,
        top1_high,
        chance_top1,
        n_test,
        selected_kind,
        selected_layer,
        selected_top1,
        n_candidates,
        n_folds,
        choices
    from source
)

select * from final

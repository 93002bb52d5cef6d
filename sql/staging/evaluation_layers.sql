-- evaluation_layers: probe quality per (model, source, layer, kind): held-out accuracy, valence/arousal r, and more.
-- built by: make evaluate
create or replace view evaluation_layers as
with source as (
    select * from read_parquet('${lake}/evaluation_layers/**/*.parquet', hive_partitioning = true, union_by_name = true)
),

final as (
    select
        model,
        source,
        cast(layer as integer) as layer,
        kind,
        top1,
        top5,
        chance_top1,
        n_test,
        n_emotions,
        valence_r,
        valence_spearman,
        arousal_r,
        arousal_spearman,
        pc1_var,
        pc2_var,
        n_rated,
        scenario_diagonal,
        scenario_target_rank,
        scenario_top5,
        n_scenarios,
        matched_cosine,
        raw_matched_cosine,
        matched_abs_cosine,
        unmatched_abs_cosine,
        norm_kept,
        n_pairs
    from source
)

select * from final

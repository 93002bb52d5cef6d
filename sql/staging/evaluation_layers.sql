-- evaluation_layers: probe quality per (model, source, layer, kind): held-out accuracy, valence/arousal r, and more.
-- pc1_valence_r / pc2_arousal_r: PC1 / PC2 of the probes against the norms (is valence the dominant axis?);
-- valence_decoded_r / arousal_decoded_r: 5-fold ridge decoding of the norms from the probes (is it linearly there?);
-- split_half_cos: cosine of each emotion's probes built from two disjoint halves of its texts (1 = no sampling noise).
-- top1_low/high: bootstrap 95% interval; null_top1: the same held-out top-1 with shuffled training labels;
-- story_* / short_*: held-out figures on stories and on the short-text set (see cross_domain); *_low/high/p on the
-- correlations: bootstrap interval and permutation p.
-- built by: make evaluate
create or replace view evaluation_layers as
with source as (
    select * from read_parquet('${lake}/evaluation_layers/**/*.parquet', hive_partitioning = true)
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
        top1_low,
        top1_high,
        null_top1,
        story_top1,
        story_top1_low,
        story_top1_high,
        story_null_top1,
        short_top1,
        short_top5,
        short_top1_low,
        short_top1_high,
        short_null_top1,
        pc1_valence_r,
        pc1_valence_low,
        pc1_valence_high,
        pc1_valence_p,
        pc1_valence_spearman,
        pc2_arousal_r,
        pc2_arousal_low,
        pc2_arousal_high,
        pc2_arousal_p,
        pc2_arousal_spearman,
        pc1_var,
        pc2_var,
        n_rated,
        split_half_cos,
        valence_decoded_r,
        arousal_decoded_r,
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

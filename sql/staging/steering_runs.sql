-- steering_runs: one row per steered continuation of a sweep (setting x prompt x seed), beside its unsteered twin.
-- setting_id names one steering setting (model, sweep, layer, emotion, strength, operator, positions, kind): the
-- marts' key. `success` is the steered model's own reading; judge_* map each judge (etl/evaluation/judges.py) to its
-- reading of both texts, and judged_success is surgical with every judge agreeing (docs/steering.md). `control`
-- marks the sweep's null directions (a random direction, another emotion's vector; false in sweeps before them).
-- built by: make steer
create or replace view steering_runs as
with source as (
    select * from read_parquet('${lake}/steering_runs/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        sweep,
        run_id,
        left(md5(concat_ws('|', model, sweep, layer, emotion, strength, operator, positions, kind)), 16) as setting_id,
        emotion,
        layer,
        strength,
        operator,
        positions,
        kind,
        prompt_index,
        prompt,
        seed,
        baseline,
        steered,
        baseline_tokens,
        steered_tokens,
        baseline_target,
        steered_target,
        target_delta,
        baseline_perplexity,
        steered_perplexity,
        perplexity_ratio,
        baseline_repetition,
        repetition_rate,
        regime,
        success,
        map(probe_emotions, baseline_scores) as baseline_scores,
        map(probe_emotions, steered_scores) as steered_scores,
        judges,
        map(judges, judge_labels) as judge_labels,
        map(judges, judge_baseline) as judge_baseline,
        map(judges, judge_steered) as judge_steered,
        map(judges, judge_opposite_baseline) as judge_opposite_baseline,
        map(judges, judge_opposite_steered) as judge_opposite_steered,
        map(judges, judge_agrees) as judge_agrees,
        judged_success,
        source,
        score_layer,
        norm,
        max_perplexity_ratio,
        max_repetition,
        temperature,
        top_p,
        max_new_tokens,
        config_hash,
        model_spec,
        cast(created_at as timestamp) as created_at,
        coalesce(control, false) as control
    from source
)

select * from final

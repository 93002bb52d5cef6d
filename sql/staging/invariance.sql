-- invariance: for the default probe set (kind, layer), per test set (the shipped everyday examples, a sample of short
-- texts, all) and perturbation (neutral prefixes and suffixes, lower/upper case, punctuation): the share of texts
-- whose top-3 emotion families stay the same set (family_same), whose top emotion stays (top1_same), and whose
-- labelled emotion's family is in the top 3 after (family_hit) and before (family_hit_before) the change.
-- Needs the probed model (`model_checks`).
-- built by: make evaluate
create or replace view invariance as
with source as (
    select * from read_parquet('${lake}/invariance/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        test_set,
        perturbation,
        n_texts,
        family_same,
        top1_same,
        family_hit,
        family_hit_before
    from source
)

select * from final

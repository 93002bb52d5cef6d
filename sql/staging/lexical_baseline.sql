-- lexical_baseline: a TF-IDF nearest-centroid classifier on the same held-out folds as the probes, trained in the
-- test domain (tfidf_in_domain) or on the stories alone (tfidf_from_stories): the floor every probe figure must beat.
-- built by: make evaluate
create or replace view lexical_baseline as
with source as (
    select * from read_parquet('${lake}/lexical_baseline/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        test_domain,
        method,
        top1,
        top5,
        top1_low,
        top1_high,
        chance_top1,
        n_test
    from source
)

select * from final

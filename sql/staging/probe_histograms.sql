-- probe_histograms: each probe's score distribution over the lake's texts of one domain (story, short): texts per
-- cosine bin, and how many of them are labelled with the probe's own emotion.
-- built by: make evaluate
create or replace view probe_histograms as
with source as (
    select * from read_parquet('${lake}/probe_histograms/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        emotion,
        domain,
        bin_low,
        bin_high,
        n_texts,
        n_labelled
    from source
)

select * from final

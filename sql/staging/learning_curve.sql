-- learning_curve: held-out top-1 and PC1-vs-valence r of single-domain probes built from k texts per emotion.
-- built by: make evaluate
create or replace view learning_curve as
with source as (
    select * from read_parquet('${lake}/learning_curve/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        texts_per_emotion,
        top1,
        pc1_valence_r,
        n_texts
    from source
)

select * from final

-- probe_centers: the mean over emotions that is subtracted from a text's vector before scoring.
-- built by: make probes
create or replace view probe_centers as
with source as (
    select * from read_parquet('${lake}/probe_centers/**/*.parquet', hive_partitioning = true)
),

final as (
    select model, source, kind, cast(layer as integer) as layer, vector, n_emotions, median_tokens
    from source
)

select * from final

-- model_agreement: per evaluated model, source and kind: its best layer, depth (relative_depth = (layer + 1) /
-- n_layers) and, per other model in the lake, the Spearman r between the two probe cosine matrices (upper
-- triangles) and between the emotions' valence-axis coordinates, over the emotions both share. other_model is
-- null when the lake held no other evaluated model when this one was evaluated.
-- built by: make evaluate
create or replace view model_agreement as
with source as (
    select * from read_parquet('${lake}/model_agreement/**/*.parquet', hive_partitioning = true)
),

final as (
    select
        model,
        source,
        kind,
        cast(layer as integer) as layer,
        n_layers,
        relative_depth,
        other_model,
        other_layer,
        other_n_layers,
        other_relative_depth,
        n_emotions,
        cosine_spearman,
        valence_spearman,
        cast(created_at as timestamp) as created_at
    from source
)

select * from final

-- held-out top-1 and valence r by layer for every model, source and probe kind
select model, source, kind, layer, round(top1, 3) as top1, round(top5, 3) as top5, round(pc1_valence_r, 2) as pc1_valence_r
from evaluation_layers
order by model, source, kind, layer

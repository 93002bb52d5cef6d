"""Nearest emotions for live text: model loaded once, texts batched, FAISS over the unit probes of one layer."""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import numpy as np

from etl.errors import EmolakeError
from etl.lake import Lake

MAX_TOKENS = 2048


@dataclass
class Scorer:
    lake: Lake
    model_spec: str
    model: str
    source: str
    kind: str
    layer: int
    emotions: list[str]
    center: np.ndarray
    index: object

    def vectors(self, texts: list[str], batch_tokens: int = 8192) -> np.ndarray:
        """Mean residual vector of each text at the scorer's layer, all tokens but the first, centred."""
        from etl.activations import mean_residuals
        from etl.models import load

        check_texts(texts)
        loaded = load(self.model_spec)
        result = mean_residuals(loaded.model, loaded.tokenizer, texts, [self.layer], 1, MAX_TOKENS, batch_tokens)
        too_short = np.flatnonzero(result.n_used == 0)
        if len(too_short):
            raise EmolakeError(f"text at row {int(too_short[0])} is a single token: give at least two tokens of text")
        return result.vectors[:, 0] - self.center

    def nearest(self, texts: list[str], k: int) -> list[list[dict]]:
        """The k best-matching emotions per text, best first, as {"emotion", "score"} (cosine)."""
        k = check_k(k, len(self.emotions))
        queries = self.vectors(texts)
        norms = np.linalg.norm(queries, axis=1, keepdims=True)
        queries = np.ascontiguousarray(queries / np.where(norms == 0, 1, norms), dtype=np.float32)
        scores, ids = self.index.search(queries, k)
        return [
            [{"emotion": self.emotions[i], "score": round(float(s), 4)} for s, i in zip(row_s, row_i, strict=True)]
            for row_s, row_i in zip(scores, ids, strict=True)
        ]


def check_texts(texts: list[str]) -> None:
    for row, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise EmolakeError(f"text at row {row} is empty: give some text to score")


def check_k(k: int, n: int) -> int:
    if k < 1:
        raise EmolakeError(f"--k {k}: use a number from 1 to {n}")
    return min(k, n)


def open_scorer(
    lake: Lake, model: str | None = None, source: str = "reference", kind: str = "expression", layer: int | None = None
) -> Scorer:
    """Loads the index and centre of one (model, source, kind, layer); layer defaults to the best evaluated one."""
    import faiss

    if not lake.has("probes"):
        raise EmolakeError(f"the lake at {lake.root} has no probes: run `make all` (or `make probes index`)")
    con = duckdb.connect()
    available = con.execute(
        "select distinct model, model_spec from read_parquet(?, hive_partitioning = true) "
        "where source = ? and kind = ?",
        [lake.glob("probes"), source, kind],
    ).fetchall()
    model, model_spec = pick_model(available, model, source)
    layer = pick_layer(lake, con, model, source, kind, layer)
    path = lake.faiss_path(model, source, kind, layer)
    if not path.exists():
        raise EmolakeError(f"no FAISS index for {model}/{source}/{kind}/layer {layer}: run `make index`")
    emotions = json.loads(path.with_suffix(".json").read_text())["emotions"]
    center_path = lake.partition("probe_centers", model=model, source=source, kind=kind, layer=layer) / "part-0.parquet"
    center = np.array(con.execute("select vector from read_parquet(?)", [str(center_path)]).fetchone()[0], np.float32)
    return Scorer(lake, model_spec, model, source, kind, layer, emotions, center, faiss.read_index(str(path)))


def pick_model(available: list[tuple[str, str]], model: str | None, source: str) -> tuple[str, str]:
    if not available:
        raise EmolakeError(f"no probes from source {source!r} in the lake: run `make probes` or pass --source")
    if model is None:
        if len(available) > 1:
            names = sorted(m for m, _ in available)
            raise EmolakeError(f"the lake has probes for several models {names}: choose one with --model")
        return available[0]
    for slug, spec in available:
        if model in (slug, spec):
            return slug, spec
    raise EmolakeError(f"no probes for model {model!r}: the lake has {sorted(m for m, _ in available)}")


def pick_layer(lake: Lake, con, model: str, source: str, kind: str, layer: int | None) -> int:
    layers = [
        r[0]
        for r in con.execute(
            "select distinct cast(layer as integer) from read_parquet(?, hive_partitioning = true) "
            "where model = ? and source = ? and kind = ? order by 1",
            [lake.glob("probes"), model, source, kind],
        ).fetchall()
    ]
    if not layers:
        raise EmolakeError(f"no {kind} probes for {model}/{source}: run `make probes` (see `emolake sql --list`)")
    if layer is not None:
        if layer not in layers:
            raise EmolakeError(f"--layer {layer} has no probes: choose one of {layers[0]}..{layers[-1]}")
        return layer
    if lake.has("evaluation_layers"):
        best = con.execute(
            "select cast(layer as integer) from read_parquet(?, hive_partitioning = true, union_by_name = true) "
            "where model = ? and source = ? and kind = ? order by top1 desc nulls last, layer limit 1",
            [lake.glob("evaluation_layers"), model, source, kind],
        ).fetchone()
        if best and best[0] in layers:
            return best[0]
    return layers[(2 * len(layers)) // 3]

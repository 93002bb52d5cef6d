"""emolake's public Python API, importable as `emolake` (pyproject maps the import name onto this package).

    import emolake
    lake = emolake.open("lake")
    lake.nearest("My dog died this morning.")            # [{"emotion": ..., "score": cosine}, ...]
    lake.sql("select * from best_layers")                 # a polars DataFrame
    probes = lake.probes()                                # np.asarray(probes): [layers, emotions, hidden]
    with lake.steer("calm", strength=0.2) as model:       # a loaded model, steered inside the block
        ...
    server = emolake.connect("http://127.0.0.1:8050")     # a running `emolake serve`: the same nearest, score

Only the names in `__all__` are the API; everything else is `etl`, the implementation, and may change.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from etl import __version__
from etl.config.steer import OPERATORS, POSITIONS
from etl.errors import EmolakeError, ShortTextWarning, warn_short
from etl.lake import Lake
from etl.probes.export import ProbeStack
from etl.service.client import RemoteLake

__all__ = ["EmoLake", "EmolakeError", "ProbeStack", "RemoteLake", "ShortTextWarning", "__version__", "connect", "open"]


def open(lake: str | Path | None = None, model: str | None = None, source: str = "reference") -> EmoLake:
    """The lake at `lake` (default: $EMOLAKE_LAKE, else ./lake). `model` picks one when the lake holds several;
    `source` is the text source the probes were built from."""
    root = Path(lake or os.environ.get("EMOLAKE_LAKE") or "lake")
    if not root.is_dir():
        raise EmolakeError(f"no lake at {root}: run `make all`, or pass the lake directory")
    return EmoLake(Lake(root), model, source)


def connect(url: str, model: str | None = None, source: str = "reference", timeout: float = 300) -> RemoteLake:
    """A running `emolake serve` at `url` (e.g. http://127.0.0.1:8050): `nearest`, `score` and `classify` answer as
    `open(lake)` would, from the server's resident model (docs/api.md). Nothing is sent until a method is called."""
    return RemoteLake(url, model, source, timeout)


class EmoLake:
    """One lake, seen through its probes. Every method uses the lake's default probe set unless given a kind/layer."""

    def __init__(self, lake: Lake, model: str | None, source: str) -> None:
        self.lake, self.source = lake, source
        self._model = model
        self._scorers: dict[tuple, object] = {}

    def __repr__(self) -> str:
        return f"emolake.open({str(self.lake.root)!r}, source={self.source!r})"

    def _scorer(self, kind: str | None, layer: int | None):
        from etl.probes.scoring import open_scorer

        key = (kind, layer)
        if key not in self._scorers:
            self._scorers[key] = open_scorer(self.lake, self._model, self.source, kind, layer)
        return self._scorers[key]

    @property
    def model(self) -> str:
        """The probed model's slug (the `model` column of every table)."""
        from etl.probes.stored import pick_model

        return pick_model(self.lake, self._model, self.source)[0]

    def nearest(self, texts: str | Sequence[str], k: int = 5, kind: str | None = None, layer: int | None = None):
        """The k emotions whose probes best match each text, best first, as {"emotion", "score"} (cosine).
        One text gives one list; a list of texts gives one list per text (one model load, batched). A text under
        `MIN_TOKENS` tokens is answered with a `ShortTextWarning` (Python's `warnings`)."""
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        scorer = self._scorer(kind, layer)
        found = scorer.nearest(texts, k)
        warn_short(texts, scorer.warnings(texts))
        return found[0] if single else found

    def score(self, texts: str | Sequence[str], kind: str | None = None, layer: int | None = None):
        """Per-token scores (the projection on each unit probe of the token's residual minus the centre), as a
        polars DataFrame: text, token_idx, token, char_start, char_end, emotion, score. Position 0 is never scored.
        A text under `MIN_TOKENS` tokens is scored with a `ShortTextWarning`."""
        import polars as pl

        from etl.model.load import load
        from etl.probes.token_scores import score_texts

        scorer = self._scorer(kind, layer)
        texts = [texts] if isinstance(texts, str) else list(texts)
        warn_short(texts, scorer.warnings(texts))
        key = (scorer.probe_set.kind, scorer.probe_set.layer)
        rows = []
        for row, scored in enumerate(score_texts(load(scorer.model_spec), texts, {key: scorer.probes})):
            matrix, emotions = scored.scores[key], scored.emotions[key]
            for t, (token, (start, end)) in enumerate(zip(scored.tokens, scored.offsets, strict=True)):
                for e, emotion in enumerate(emotions):
                    rows.append((row, t + 1, token, start, end, emotion, float(matrix[t, e])))
        columns = ["text", "token_idx", "token", "char_start", "char_end", "emotion", "score"]
        return pl.DataFrame(rows, schema=columns, orient="row")

    def probes(self, kind: str | None = None, layers: Sequence[int] | str | None = None) -> ProbeStack:
        """The stored unit probes as a ProbeStack: `np.asarray(stack)` is [layers, emotions, hidden] float32, with
        `.emotions`, `.layers`, `.centers` and provenance. Default: the default probe set; `layers="all"`."""
        from etl.probes.export import stack

        return stack(self.lake, self._model, self.source, kind, None if layers is None else _layers(layers))

    def export(self, path: str | Path, format: str, kind: str | None = None, layers=None) -> list[Path]:
        """Writes `probes(kind, layers)` as "safetensors" or "npy" (unit probes and centres, for reading), or "gguf":
        llama.cpp control vectors of the steering recipe (its kind and layer unless given), scaled by its residual
        norms, so a strength means what it means in `steer` (`etl.api.exports`)."""
        from etl.api.exports import export

        chosen = None if layers is None else _layers(layers)
        return export(self.lake, self._model, self.source, format, Path(path), kind, chosen)[1]

    def sql(self, query: str, as_arrow: bool = False):
        """One read-only query over the lake's views (`emolake sql --list`): a polars DataFrame, or a pyarrow
        Table with `as_arrow=True`."""
        from etl.lake import views

        table = views.run(self.lake, query)
        if as_arrow:
            return table
        import polars as pl

        return pl.from_arrow(table)

    @contextmanager
    def steer(
        self,
        emotion: str,
        strength: float,
        layer: int | None = None,
        operator: str = OPERATORS[0],
        positions: str = POSITIONS[0],
        kind: str | None = None,
    ) -> Iterator[object]:
        """Inside the block, the lake's model (a transformers causal LM, `.model` and `.tokenizer` on the yielded
        object) is steered: `strength` times the layer's mean residual norm along `emotion`'s unit probe, added
        after decoder block `layer`. Kind, layer and norm are the steering recipe of the default preset
        (`etl.steering.recipe`), the one `emolake steer`, the dashboard and exported control vectors use, unless
        given. Hooks are removed on exit."""
        from etl.config import load_preset
        from etl.model.load import load
        from etl.model.steer import Intervention, steer
        from etl.probes.stored import pick_model, read_layers
        from etl.steering.recipe import resolve

        _, spec = pick_model(self.lake, self._model, self.source, kind)
        loaded = load(spec)
        config = load_preset("default", lake=self.lake.root, model=spec).steer
        if config.source != self.source:
            from dataclasses import replace

            config = replace(config, source=self.source)
        recipe = resolve(self.lake, loaded, config, kind, layer)
        probes = read_layers(self.lake, recipe.model, self.source, [recipe.kind], [recipe.layer])
        found = probes.get((recipe.kind, recipe.layer))
        if found is None or emotion not in found.emotions:
            raise EmolakeError(
                f"emotion {emotion!r} has no {recipe.kind} probe at layer {recipe.layer}: see lake.probes().emotions"
            )
        vector = found.vectors[found.emotions.index(emotion)]
        with steer(loaded.model, [Intervention(recipe.layer, vector, strength, recipe.norm, operator)], positions):
            yield loaded


def _layers(layers: Sequence[int] | str) -> list[int] | str:
    if isinstance(layers, str):
        if layers != "all":
            raise EmolakeError(f"layers={layers!r}: give a list of layer numbers, or 'all'")
        return layers
    return [int(layer) for layer in layers]

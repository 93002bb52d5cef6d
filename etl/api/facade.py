"""`emolake.open` and `EmoLake`: one lake seen through its probes, the door the CLI's scoring commands, the dashboard
and Python callers share. Each method delegates to the library function that does the work (`etl.probes`,
`etl.evaluation`); what lives here is the choice of probe set and the cache of open ones, so one model load and one
read of a probe set serve many calls."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from etl.api.answers import Matches, TokenScores, check_texts, frame, layers_arg, text_list
from etl.api.labelled import LabelledMethods
from etl.config.steer import OPERATORS, POSITIONS
from etl.errors import EmolakeError, warn_short
from etl.lake import Lake
from etl.probes.export import ProbeStack
from etl.probes.ids import ProbeSetId, ProbeSetQuery
from etl.service.client import RemoteLake

CLASSIFY_BATCH = 64
"""Texts per batch of `EmoLake.classify` (`emolake classify --batch-size`)."""


def open(lake: str | Path | Lake | None = None, model: str | None = None, source: str = "reference") -> EmoLake:
    """The lake at `lake` (default: $EMOLAKE_LAKE, else ./lake; a directory, an s3:// URI or an `etl.lake.Lake`).
    `model` picks one when the lake holds several; `source` is the text source the probes were built from."""
    if not isinstance(lake, Lake):
        lake = Lake(lake or os.environ.get("EMOLAKE_LAKE") or "lake")
        if lake.remote is None and not lake.root.is_dir():
            raise EmolakeError(f"no lake at {lake.root}: run `make all`, or pass the lake directory")
    return EmoLake(lake, model, source)


def connect(url: str, model: str | None = None, source: str = "reference", timeout: float = 300) -> RemoteLake:
    """A running `emolake serve` at `url` (e.g. http://127.0.0.1:8050): `nearest`, `score` and `classify` answer as
    `open(lake)` would, from the server's resident model (docs/api.md). Nothing is sent until a method is called."""
    return RemoteLake(url, model, source, timeout)


class EmoLake(LabelledMethods):
    """One lake, seen through its probes. Every method uses the lake's default probe set unless given a kind/layer.

    Probe sets are opened on first use and kept (scorers with their FAISS index for `nearest` and search, stored
    sets for per-token scores), as is the model (`etl.model.load.load`). Not thread-safe around a forward pass: a
    caller serving threads holds one lock around the methods that run the model (the dashboard's `LiveScorer` does).
    """

    def __init__(self, lake: Lake, model: str | None, source: str) -> None:
        self.lake, self.source = lake, source
        self._model = model
        self._scorers: dict[ProbeSetQuery, object] = {}
        self._stored: dict[ProbeSetQuery, tuple[ProbeSetId, object]] = {}

    def __repr__(self) -> str:
        return f"emolake.open({str(self.lake.root)!r}, source={self.source!r})"

    def using(self, model: str | None = None, source: str | None = None) -> EmoLake:
        """This lake through another model and/or source (None: this one's), sharing the probe sets already open:
        how the dashboard follows its pickers. Reads nothing."""
        other = EmoLake(self.lake, model or self._model, source or self.source)
        other._scorers, other._stored = self._scorers, self._stored
        return other

    def _query(self, kind: str | None, layer: int | None) -> ProbeSetQuery:
        return ProbeSetQuery(self._model, self.source, kind, layer)

    def _scorer(self, kind: str | None, layer: int | None):
        """The `etl.probes.scoring.Scorer` of a probe set (its probes and FAISS index), opened once."""
        from etl.probes.scoring import open_scorer

        query = self._query(kind, layer)
        if query not in self._scorers:
            self._scorers[query] = open_scorer(self.lake, self._model, self.source, kind, layer)
        return self._scorers[query]

    def _probe_set(self, kind: str | None, layer: int | None):
        """(ProbeSetId, StoredProbes with centres) of a probe set, read once; no FAISS index needed."""
        from etl.probes.policy import resolve
        from etl.probes.stored import read_set

        query = self._query(kind, layer)
        if query not in self._stored:
            probe_set = resolve(self.lake, query)
            self._stored[query] = (probe_set, read_set(self.lake, probe_set))
        return self._stored[query]

    @property
    def model(self) -> str:
        """The probed model's slug (the `model` column of every table)."""
        from etl.probes.stored import pick_model

        return pick_model(self.lake, self._model, self.source)[0]

    def probe_set(self, kind: str | None = None, layer: int | None = None) -> ProbeSetId:
        """The probe set a call given this kind and layer uses: the one already open for them, else the one the lake's
        probes and evaluation name now (`etl.probes.policy.resolve`: no kind, the default set; no layer, the kind's
        best). Loads nothing."""
        from etl.probes.policy import resolve

        query = self._query(kind, layer)
        if query in self._scorers:
            return self._scorers[query].probe_set
        if query in self._stored:
            return self._stored[query][0]
        return resolve(self.lake, query)

    def nearest(
        self,
        texts: str | Sequence[str],
        k: int = 5,
        kind: str | None = None,
        layer: int | None = None,
        truncate: bool = False,
    ):
        """The k emotions whose probes best match each text, best first, as {"emotion", "score"} (cosine).
        One text gives one list; a list of texts gives one list per text (one model load, batched). A text under
        `MIN_TOKENS` tokens is answered with a `ShortTextWarning` (Python's `warnings`). A text over 2,048 tokens is
        refused, or with `truncate=True` read up to there."""
        single = isinstance(texts, str)
        texts = text_list(texts)
        found = self.match(texts, k, kind, layer, truncate)
        warn_short(texts, found.warnings)
        return found.nearest[0] if single else found.nearest

    def match(
        self,
        texts: str | Sequence[str],
        k: int = 5,
        kind: str | None = None,
        layer: int | None = None,
        truncate: bool = False,
    ) -> Matches:
        """`nearest` of a list of texts as `emolake nearest` prints it: one list of matches per text, the probe set
        used, and each text's short-text warning as a value (no Python warning)."""
        texts = text_list(texts)
        check_texts(texts)
        scorer = self._scorer(kind, layer)
        return Matches(scorer.probe_set, scorer.nearest(texts, k, truncate), scorer.warnings(texts))

    def short_warnings(
        self, texts: str | Sequence[str], kind: str | None = None, layer: int | None = None
    ) -> list[str | None]:
        """Per text, the warning its answer carries when it is under `MIN_TOKENS` tokens, else None: reads the
        model's tokenizer (the model is loaded once), scores nothing."""
        from etl.model.load import load
        from etl.probes.scoring import short_warnings
        from etl.probes.stored import pick_model

        texts = text_list(texts)
        check_texts(texts)
        _, spec = pick_model(self.lake, self._model, self.source, kind)
        return short_warnings(load(spec).tokenizer, texts)

    def classify(
        self,
        texts: Sequence[str],
        k: int = 5,
        kind: str | None = None,
        layer: int | None = None,
        truncate: bool = False,
        batch_size: int = CLASSIFY_BATCH,
    ) -> list[dict]:
        """One row per text, as `emolake classify` writes it and /api/v1/classify answers: row_id, emotions and
        scores (best first), warning (None unless the text is short). Texts are read `batch_size` at a time, behind
        a progress bar that follows the CLI's verbosity."""
        from etl import progress
        from etl.probes.scoring import check_k, classified

        texts = text_list(texts)
        check_texts(texts)
        if batch_size < 1:
            raise EmolakeError(f"batch_size {batch_size}: use a positive integer")
        scorer = self._scorer(kind, layer)
        k = check_k(k, len(scorer.emotions))
        rows: list[dict] = []
        for start in progress.bar(range(0, len(texts), batch_size), desc="classify", unit="batch"):
            batch = texts[start : start + batch_size]
            found = zip(scorer.nearest(batch, k, truncate), scorer.warnings(batch), strict=True)
            rows += [
                {"row_id": start + i} | classified(matches) | {"warning": warning}
                for i, (matches, warning) in enumerate(found)
            ]
        return rows

    def similar_emotions(self, emotion: str, k: int = 5, kind: str | None = None, layer: int | None = None):
        """The k emotions whose probes are closest (cosine) to `emotion`'s, itself left out, best first, as
        {"emotion", "score"}: read from the probe set's FAISS index (`etl.probes.search.nearest_emotions`)."""
        from etl.probes.search import nearest_emotions

        return nearest_emotions(self._scorer(kind, layer), emotion.strip(), k)

    def similar_stories(
        self,
        k: int = 5,
        text: str | None = None,
        text_id: str | None = None,
        kind: str | None = None,
        layer: int | None = None,
        truncate: bool = False,
    ) -> list[dict]:
        """The k stories of the lake that feel most like a text, or like the story `text_id` (itself left out), in
        emotion space (`etl.probes.search.similar_stories`): text_id, source, emotion, topic, score, text; best
        first; [] when the story index is empty."""
        from etl.probes.search import similar_stories

        if text is not None:
            check_texts([text])
        return similar_stories(self._scorer(kind, layer), k, text=text, text_id=text_id, truncate=truncate)

    def token_scores(
        self, texts: str | Sequence[str], kind: str | None = None, layer: int | None = None
    ) -> list[TokenScores]:
        """Per text, its tokens (from position 1) and their offsets, and per token and emotion the projection
        (`scores`, what `score` gives) and the cosine (`cosines`, what the token viewer shows), with its short-text
        warning as a value: `etl.probes.token_scores.score_texts`, one forward pass per batch. Reads the stored
        probe set (no FAISS index needed)."""
        from etl.model.load import load
        from etl.probes.scoring import short_warnings
        from etl.probes.token_scores import score_texts

        texts = text_list(texts)
        check_texts(texts)
        probe_set, probes = self._probe_set(kind, layer)
        loaded = load(probes.model_spec)
        key = (probe_set.kind, probe_set.layer)
        scored = score_texts(loaded, texts, {key: probes})
        warnings = short_warnings(loaded.tokenizer, texts)
        return [
            TokenScores(probe_set, text, s.tokens, s.offsets, s.emotions[key], s.scores[key], s.cosines(key), warning)
            for text, s, warning in zip(texts, scored, warnings, strict=True)
        ]

    def score(self, texts: str | Sequence[str], kind: str | None = None, layer: int | None = None):
        """Per-token scores (the projection on each unit probe of the token's residual minus the centre), as a
        polars DataFrame: text, token_idx, token, char_start, char_end, emotion, score. Position 0 is never scored.
        A text under `MIN_TOKENS` tokens is scored with a `ShortTextWarning`."""
        texts = text_list(texts)
        scored = self.token_scores(texts, kind, layer)
        warn_short(texts, [s.warning for s in scored])
        return frame(scored)

    def probes(self, kind: str | None = None, layers: Sequence[int] | str | None = None) -> ProbeStack:
        """The stored unit probes as a ProbeStack: `np.asarray(stack)` is [layers, emotions, hidden] float32, with
        `.emotions`, `.layers`, `.centers` and provenance. Default: the default probe set; `layers="all"`."""
        from etl.probes.export import stack

        return stack(self.lake, self._model, self.source, kind, None if layers is None else layers_arg(layers))

    def export(self, path: str | Path, format: str, kind: str | None = None, layers=None) -> list[Path]:
        """Writes `probes(kind, layers)` as "safetensors" or "npy" (unit probes and centres, for reading), or "gguf":
        llama.cpp control vectors of the steering recipe (its kind and layer unless given), scaled by its residual
        norms, so a strength means what it means in `steer` (`etl.api.exports`)."""
        from etl.api.exports import export

        chosen = None if layers is None else layers_arg(layers)
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
        from etl.model.load import load
        from etl.model.steer import Intervention, steer
        from etl.probes.stored import pick_model, read_layers
        from etl.steering.recipe import preset_config, resolve

        _, spec = pick_model(self.lake, self._model, self.source, kind)
        loaded = load(spec)
        config = preset_config("default", self.lake, spec, self.source)
        recipe = resolve(self.lake, loaded, config, kind, layer)
        found = read_layers(self.lake, recipe.model, self.source, [recipe.kind], [recipe.layer]).get(
            (recipe.kind, recipe.layer)
        )
        if found is None or emotion not in found.emotions:
            raise EmolakeError(
                f"emotion {emotion!r} has no {recipe.kind} probe at layer {recipe.layer}: see lake.probes().emotions"
            )
        vector = found.vectors[found.emotions.index(emotion)]
        with steer(loaded.model, [Intervention(recipe.layer, vector, strength, recipe.norm, operator)], positions):
            yield loaded

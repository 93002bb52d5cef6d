"""What every page gets: the read-only lake reader, the live scorer, and small questions about the probe sets, which
the facade answers (`etl.api.EmoLake.probe_set`: the rule `nearest`, `score` and the JSON API pick sets by)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dashboards.data import LakeReader
from dashboards.live import LiveScorer
from etl.api import EmoLake, ProbeSetId
from etl.errors import EmolakeError


@dataclass
class AppContext:
    reader: LakeReader
    scorer: LiveScorer
    model: str | None = None
    """Preferred model slug (`emolake serve --model`); None: the first in the lake."""
    source: str = "reference"
    """Preferred probe source."""
    api: EmoLake | None = None
    """The facade the pages ask about probe sets; default: the live scorer's, so both share the open sets."""
    _probe_sets: tuple[float, list[ProbeSetId]] = field(default=(0.0, []), repr=False)
    _defaults: dict[tuple, tuple[str, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.api is None and self.scorer is not None:
            self.api = self.scorer.api

    def probe_sets(self, max_age_s: float = 5.0) -> list[ProbeSetId]:
        """Every (model, source, kind, layer) with probes, ordered; re-read at most every few seconds."""
        read_at, cached = self._probe_sets
        if time.monotonic() - read_at < max_age_s:
            return cached
        rows = []
        if self.reader.has("probes"):
            rows = self.reader.rows(
                "select distinct model, source, kind, layer from probes order by model, source, kind, layer"
            )
        sets = [ProbeSetId(r["model"], r["source"], r["kind"], r["layer"]) for r in rows]
        self._probe_sets = (time.monotonic(), sets)
        return sets

    def models_sources(self) -> list[tuple[str, str]]:
        """(model, source) pairs with probes, the preferred one first."""
        pairs = sorted({(p.model, p.source) for p in self.probe_sets()})
        return sorted(pairs, key=lambda pair: (pair[0] != self.model, pair[1] != self.source, pair))

    def kinds(self, model: str, source: str) -> list[str]:
        """The kinds with probes, the default set's first (what every page opens on), then expression."""
        kinds = {p.kind for p in self.probe_sets() if (p.model, p.source) == (model, source)}
        first = self.default_set(model, source)
        return sorted(kinds, key=lambda kind: (kind != (first and first[0]), kind != "expression", kind))

    def default_set(self, model: str, source: str) -> tuple[str, int] | None:
        """(kind, layer) of the default set (`EmoLake.probe_set()`: what `score`, `nearest` and the API use); None: no
        probes."""
        if not any((p.model, p.source) == (model, source) for p in self.probe_sets()):
            return None
        # Asked on every picker change: kept as long as the probe sets are (re-read every few seconds).
        read_at = self._probe_sets[0]
        self._defaults = {k: v for k, v in self._defaults.items() if k[0] == read_at}
        key = (read_at, model, source)
        if key not in self._defaults:
            try:
                found = self.api.using(model, source).probe_set()
                self._defaults[key] = (found.kind, found.layer)
            except EmolakeError:  # no expression probes to fall back on: the pages pick from what there is
                return None
        return self._defaults[key]

    def default_layer(self, model: str, source: str, kind: str) -> int | None:
        """The layer a page opens on: the default set's for its kind, else that kind's `best_layer`."""
        first = self.default_set(model, source)
        return first[1] if first and first[0] == kind else self.best_layer(model, source, kind)

    def layers(self, model: str, source: str, kind: str) -> list[int]:
        return [p.layer for p in self.probe_sets() if (p.model, p.source, p.kind) == (model, source, kind)]

    def best_layer(self, model: str, source: str, kind: str) -> int | None:
        """The layer a kind's sets are read at when none is asked for (`EmoLake.probe_set(kind)`: the best evaluated
        layer); None: no probes."""
        if not self.layers(model, source, kind):
            return None
        return self.api.using(model, source).probe_set(kind).layer

    def probe_set(self, model: str, source: str, kind: str, layer: int) -> ProbeSetId:
        wanted = ProbeSetId(model, source, kind, layer)
        if wanted in self.probe_sets():
            return wanted
        raise EmolakeError(f"no {kind} probes for {model}/{source} at layer {layer}: run `make probes`")

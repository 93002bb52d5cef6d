"""What every page gets: the read-only lake reader, the live scorer, and small questions about the probe sets."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dashboards.data import LakeReader
from dashboards.live import LiveScorer, ProbeSet


@dataclass
class AppContext:
    reader: LakeReader
    scorer: LiveScorer
    model: str | None = None
    """Preferred model slug (`emolake serve --model`); None: the first in the lake."""
    source: str = "reference"
    """Preferred probe source."""
    _probe_sets: tuple[float, list[ProbeSet]] = field(default=(0.0, []), repr=False)

    def probe_sets(self, max_age_s: float = 5.0) -> list[ProbeSet]:
        """Every (model, source, kind, layer) with probes, ordered; re-read at most every few seconds."""
        read_at, cached = self._probe_sets
        if time.monotonic() - read_at < max_age_s:
            return cached
        rows = []
        if self.reader.has("probes"):
            rows = self.reader.rows(
                "select distinct model, model_spec, source, kind, layer from probes order by model, source, kind, layer"
            )
        sets = [ProbeSet(r["model"], r["model_spec"], r["source"], r["kind"], r["layer"]) for r in rows]
        self._probe_sets = (time.monotonic(), sets)
        return sets

    def models_sources(self) -> list[tuple[str, str]]:
        """(model, source) pairs with probes, the preferred one first."""
        pairs = sorted({(p.model, p.source) for p in self.probe_sets()})
        return sorted(pairs, key=lambda pair: (pair[0] != self.model, pair[1] != self.source, pair))

    def kinds(self, model: str, source: str) -> list[str]:
        kinds = {p.kind for p in self.probe_sets() if (p.model, p.source) == (model, source)}
        return sorted(kinds, key=lambda kind: (kind != "expression", kind))

    def layers(self, model: str, source: str, kind: str) -> list[int]:
        return [p.layer for p in self.probe_sets() if (p.model, p.source, p.kind) == (model, source, kind)]

    def best_layer(self, model: str, source: str, kind: str) -> int | None:
        """`etl.probes.policy.best_layer` of a probe set; None: no probes."""
        from etl.probes.policy import best_layer

        if not self.layers(model, source, kind):
            return None
        return best_layer(self.reader.lake, model, source, kind)

    def probe_set(self, model: str, source: str, kind: str, layer: int) -> ProbeSet:
        for p in self.probe_sets():
            if (p.model, p.source, p.kind, p.layer) == (model, source, kind, layer):
                return p
        from etl.errors import EmolakeError

        raise EmolakeError(f"no {kind} probes for {model}/{source} at layer {layer}: run `make probes`")

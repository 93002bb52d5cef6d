"""The scorers of a resident server: one per probe set, opened on first use, each with its micro-batcher.

A request names a probe set loosely (no kind: the default set; no layer: the best one), so two requests can name
the same set differently: scorers are cached by the set they resolved to, and the names by what they resolved to.
Every `recheck_s` the versions of the lake's `probes` and `evaluation_layers` tables are read; when either has
changed (a rebuild under a running server), every cached scorer is dropped and the next request opens it afresh.
"""

from __future__ import annotations

import threading
import time

from etl.errors import EmolakeError
from etl.lake import Lake
from etl.probes.ids import ProbeSetId, ProbeSetQuery
from etl.service.batching import Batcher
from etl.service.requests import MAX_TEXTS, RequestError

WATCHED = ("probes", "evaluation_layers")


class Scorers:
    """ProbeSetQuery -> Batcher (whose `.scorer` is the `etl.probes.scoring.Scorer` the CLI would open)."""

    def __init__(
        self, lake: Lake, lock: threading.Lock, window_s: float, max_texts: int = MAX_TEXTS, recheck_s: float = 5.0
    ) -> None:
        self.lake, self.lock, self.window_s, self.max_texts, self.recheck_s = lake, lock, window_s, max_texts, recheck_s
        self._named: dict[ProbeSetQuery, ProbeSetId] = {}
        self._batchers: dict[ProbeSetId, Batcher] = {}
        self._guard = threading.Lock()
        self._versions: tuple | None = None
        self._checked = float("-inf")

    def stats(self) -> list[dict]:
        """Per open scorer: its probe set, the `nearest` calls it took, the batches they made, the largest batch."""
        with self._guard:
            batchers = dict(self._batchers)
        return [
            key.as_dict() | {"calls": b.submitted, "batches": b.batches, "largest_batch": b.largest_batch}
            for key, b in batchers.items()
        ]

    def get(self, choice: ProbeSetQuery) -> Batcher:
        """The batcher of the probe set `choice` names; a set the lake does not have is a 404 RequestError."""
        with self._guard:
            self._drop_if_changed()
            key = self._named.get(choice)
            if key is None:
                scorer = self._open(choice)
                key = scorer.probe_set
                if key not in self._batchers:
                    self._batchers[key] = Batcher(scorer, self.lock, self.window_s, self.max_texts)
                self._named[choice] = key
            return self._batchers[key]

    def _open(self, choice: ProbeSetQuery):
        from etl.probes.scoring import open_scorer

        try:
            return open_scorer(self.lake, choice.model, choice.source, choice.kind, choice.layer)
        except EmolakeError as exc:
            raise RequestError(str(exc), 404) from None

    def _drop_if_changed(self) -> None:
        if time.monotonic() - self._checked < self.recheck_s:
            return
        versions = tuple(self.lake.version(name) for name in WATCHED)
        self._checked = time.monotonic()
        if versions != self._versions:
            for batcher in self._batchers.values():
                batcher.stop()
            self._named, self._batchers, self._versions = {}, {}, versions


def probe_sets(lake: Lake) -> list[dict]:
    """Every stored probe set: model, model_spec, source, kind, layer, emotions (count), indexed (has the FAISS index
    `nearest` needs), default (the set `nearest` uses for its model and source when given no kind)."""
    import duckdb

    from etl.probes.policy import default_set

    if not lake.has("probes"):
        return []
    rows = (
        duckdb.connect()
        .execute(
            "select model, model_spec, source, kind, cast(layer as integer), count(*) "
            "from read_parquet(?, hive_partitioning = true, union_by_name = true) group by all order by 1, 3, 4, 5",
            [lake.files("probes")],
        )
        .fetchall()
    )
    defaults = {}
    for model, source in dict.fromkeys((r[0], r[2]) for r in rows):
        try:
            defaults[(model, source)] = default_set(lake, model, source)
        except EmolakeError:
            defaults[(model, source)] = None
    columns = ("model", "model_spec", "source", "kind", "layer", "emotions")
    return [
        dict(zip(columns, row, strict=True))
        | {
            "indexed": lake.exists(lake.faiss_path(row[0], row[2], row[3], row[4])),
            "default": defaults[(row[0], row[2])] == (row[3], row[4]),
        }
        for row in rows
    ]

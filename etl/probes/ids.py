"""What names a probe set: `ProbeSetId`, one stored set exactly, and `ProbeSetQuery`, a set asked for loosely.

A probe set is one (model, source, kind, layer) of the `probes` table. The CLI, the Python API, the JSON API and the
dashboard name sets with these two classes only: a query leaves out what the caller did not choose (no model: the
lake's only one; no kind: the default set; no layer: the kind's best), and `etl.probes.policy.resolve` turns it into
the id of the set the lake holds, by one rule for all of them. The vectors themselves are `StoredProbes`
(etl/probes/stored.py); a set at several layers, as exported, is a `ProbeStack` (etl/probes/export.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class ProbeSetId:
    """One stored probe set."""

    model: str
    """The probed model's slug, as in the lake's `model` column."""
    source: str
    """The text source the probes were built from (`reference`, `local`, ...)."""
    kind: str
    """The probe kind (etl/config/kinds.py)."""
    layer: int
    """The output of decoder block `layer` (0-based)."""

    def as_dict(self) -> dict:
        """model, source, kind, layer: how every scoring answer of the JSON API starts."""
        return {"model": self.model, "source": self.source, "kind": self.kind, "layer": self.layer}


@dataclass(frozen=True)
class ProbeSetQuery:
    """A probe set as a caller names it; None leaves the choice to `etl.probes.policy.resolve`."""

    model: str | None = None
    """A slug or model spec; None: the only model with such probes."""
    source: str = "reference"
    kind: str | None = None
    """None: the default probe set (`etl.probes.policy.default_set`)."""
    layer: int | None = None
    """None: the default set's layer, or the kind's best layer."""

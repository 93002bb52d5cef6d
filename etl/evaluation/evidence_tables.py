"""The evaluation's tables for the viewer and for model comparison: one call from the evaluate stage per source.

Writes `probe_examples` and `probe_histograms` (`evidence`) and `model_agreement` (`comparison`); their Arrow
schemas live in `etl.lake.schemas`, and `signature()` puts them in the evaluate stage's run key.
"""

from __future__ import annotations

import hashlib

from etl.config import EvaluateConfig
from etl.lake import Lake, schemas

SCHEMAS = {
    "probe_examples": schemas.PROBE_EXAMPLES,
    "probe_histograms": schemas.PROBE_HISTOGRAMS,
    "model_agreement": schemas.MODEL_AGREEMENT,
}


def signature() -> str:
    """A short hash of these tables' columns and types: it changes whenever a schema does."""
    described = ";".join(f"{name}:{schema}" for name, schema in sorted(SCHEMAS.items()))
    return hashlib.sha256(described.encode()).hexdigest()[:12]


def write(lake: Lake, model: str, source: str, config: EvaluateConfig) -> int:
    """Writes the viewer's evidence and the cross-model agreement of one (model, source); returns rows written."""
    from etl.evaluation import comparison, evidence

    written = evidence.write(lake, model, source, config.example_tokens, config.common.model)
    return written + comparison.write(lake, model, source)

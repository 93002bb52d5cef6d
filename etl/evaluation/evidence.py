"""What the dashboard's Probe page and emotion map show as evidence, precomputed so that pages read, not run models.

For each probe kind at its best layer, every story and short text of the source is scored the way `nearest` scores
a text (the cosine of its mean residual, centred on its form, with each unit probe). Per probe this writes:
    probe_examples    its top-scoring texts of each domain (stories, short texts), with per-token cosines of the
                      first `example_tokens` of them when the model is loaded
    probe_histograms  the distribution of its scores over each domain's texts, and how many carry its label
Both are `NAME/model=M/source=S/part-0.parquet` (schemas in `etl.lake.schemas`).
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from etl.config.kinds import TOKEN_KINDS
from etl.lake import Lake, schemas, vectors
from etl.probes.policy import best_layer
from etl.probes.stored import StoredProbes, probe_sets
from etl.probes.stored import read as read_probes

log = logging.getLogger("emolake")

DOMAINS = {"story": ["emotional_story", "neutral_story"], "short": ["short_text", "neutral_short"]}
"""The lake texts a probe is shown on: the two forms users' texts come in."""
TOP = 5
"""Top-scoring texts kept per probe and domain."""
BINS = 30
"""Histogram bins over each domain's score range."""


def text_scores(probes: StoredProbes, data: vectors.Vectors) -> np.ndarray:
    """(n_texts, n_emotions) cosine of each text's centred mean residual with each unit probe."""
    if not data.meta:
        return np.zeros((0, len(probes.emotions)), np.float32)
    return probes.project(data.x, [m["n_tokens"] or 1 for m in data.meta], cosine=True)


def top_rows(probes: StoredProbes, domain: str, data: vectors.Vectors, scores: np.ndarray, top: int) -> list[dict]:
    """The `top` highest-scoring texts of each probe (ties: lower text id first)."""
    rows = []
    ids = np.array([m["text_id"] for m in data.meta], dtype=object)
    for column, emotion in enumerate(probes.emotions):
        order = np.lexsort((ids, -scores[:, column]))[:top]
        for rank, i in enumerate(order, start=1):
            meta = data.meta[i]
            rows.append(
                {
                    "kind": probes.kind,
                    "layer": probes.layer,
                    "emotion": emotion,
                    "domain": domain,
                    "rank": rank,
                    "text_id": meta["text_id"],
                    "corpus": meta["corpus"],
                    "label": meta["emotion"],
                    "text": meta["text"],
                    "score": float(scores[i, column]),
                }
            )
    return rows


def histogram_rows(probes: StoredProbes, domain: str, data: vectors.Vectors, scores: np.ndarray) -> list[dict]:
    """Per probe: text counts in BINS equal bins over the domain's score range, and the labelled share of each."""
    if not len(scores):
        return []
    edges = np.linspace(float(scores.min()), float(scores.max()) + 1e-6, BINS + 1)
    labels = np.array([m["emotion"] or "" for m in data.meta], dtype=object)
    rows = []
    for column, emotion in enumerate(probes.emotions):
        counts, _ = np.histogram(scores[:, column], edges)
        own, _ = np.histogram(scores[labels == emotion, column], edges)
        rows += [
            {
                "kind": probes.kind,
                "layer": probes.layer,
                "emotion": emotion,
                "domain": domain,
                "bin_low": float(edges[b]),
                "bin_high": float(edges[b + 1]),
                "n_texts": int(counts[b]),
                "n_labelled": int(own[b]),
            }
            for b in range(BINS)
        ]
    return rows


def add_token_scores(rows: list[dict], probe_sets: dict, spec: str, ranks: int) -> None:
    """Fills `tokens`/`token_scores` of the rows ranked within `ranks`: one forward pass per distinct text."""
    from etl.model.load import load
    from etl.probes.token_scores import score_texts

    wanted = [r for r in rows if r["rank"] <= ranks and r["kind"] in TOKEN_KINDS]
    texts = sorted({r["text"] for r in wanted})
    if not texts:
        return
    loaded = load(spec)
    # Only the kinds that get token scores: the forward pass then stops at their deepest layer, not the deepest of
    # every kind's best layer (prompted probes peak late).
    scored = {key: p for key, p in probe_sets.items() if key[0] in TOKEN_KINDS}
    column = {key: {e: i for i, e in enumerate(p.emotions)} for key, p in scored.items()}
    by_text = {}
    for start in range(0, len(texts), 16):
        batch = texts[start : start + 16]
        by_text |= dict(zip(batch, score_texts(loaded, batch, scored), strict=True))
    for row in wanted:
        traced = by_text[row["text"]]
        key = (row["kind"], row["layer"])
        row["tokens"] = traced.tokens
        row["token_scores"] = traced.cosines(key)[:, column[key][row["emotion"]]].tolist()


def evidence_sets(lake: Lake, model: str, source: str) -> dict[tuple[str, int], StoredProbes]:
    """(kind, layer) -> probes of every kind at its best layer (the evaluation just chose them)."""
    out = {}
    for kind in sorted({k for m, _, s, k, _ in probe_sets(lake) if (m, s) == (model, source)}):
        layer = best_layer(lake, model, source, kind)
        out |= {(k, lay): p for (_, k, lay), p in read_probes(lake, model, source, [kind], [layer]).items()}
    return out


def write(lake: Lake, model: str, source: str, example_tokens: int, spec: str | None) -> int:
    """Writes `probe_examples` and `probe_histograms` of one source; per-token cosines of the top `example_tokens`
    texts of each probe and domain, through the model `spec`."""
    chosen = evidence_sets(lake, model, source)
    examples, histograms = [], []
    for layer in sorted({layer for _, layer in chosen}):
        for domain, corpora in DOMAINS.items():
            data = vectors.load(lake, model, layer, corpora, [source], ["text"])
            for (_, probe_layer), probes in chosen.items():
                if probe_layer != layer or not data.meta:
                    continue
                scores = text_scores(probes, data)
                examples += top_rows(probes, domain, data, scores, TOP)
                histograms += histogram_rows(probes, domain, data, scores)
    if spec and example_tokens:
        add_token_scores(examples, chosen, spec, example_tokens)
    lake.write("probe_examples", _table(examples, schemas.PROBE_EXAMPLES), mode="replace", model=model, source=source)
    lake.write(
        "probe_histograms", _table(histograms, schemas.PROBE_HISTOGRAMS), mode="replace", model=model, source=source
    )
    log.info("evaluate: %s/%s: %d probe examples, %d histogram bins", model, source, len(examples), len(histograms))
    return len(examples) + len(histograms)


def _table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    return pa.table({f.name: [r.get(f.name) for r in rows] for f in schema}, schema=schema)

"""The reference corpus written by the emolake team and shipped in `data/reference_corpus/`."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parents[3] / "data" / "reference_corpus"


def read_corpus(corpus: str) -> list[dict]:
    """All shipped rows of one corpus (JSONL), in file order; [] if the corpus is not shipped."""
    path = CORPUS_DIR / f"{corpus}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def row_emotions(row: dict) -> list[str]:
    """Every emotion a row involves (its emotion, displayed emotion, and each speaker's)."""
    found = [row.get("emotion"), row.get("displayed_emotion")]
    found += [s.get("emotion") for s in row.get("speakers") or []]
    return [e for e in found if e]


def select_rows(
    corpus: str, rows: list[dict], emotions: tuple[str, ...], per_emotion: int | None, neutral: int | None
) -> list[dict]:
    """Rows of the chosen emotions (at most `per_emotion` stories each), or the first `neutral` neutral texts."""
    if corpus.startswith("neutral"):
        return rows if neutral is None else rows[:neutral]
    chosen = set(emotions)
    if corpus == "speaker_dialogue":
        # A dialogue serves a speaker probe as soon as one of its speakers feels a chosen emotion.
        rows = [r for r in rows if chosen & set(row_emotions(r))]
    else:
        # Deflection dialogues are labelled by their hidden emotion; the displayed one may be any.
        rows = [r for r in rows if r.get("emotion") in chosen]
    if corpus != "emotional_story" or per_emotion is None:
        return rows
    taken: dict[str, int] = defaultdict(int)
    selected = []
    for row in rows:
        if taken[row["emotion"]] < per_emotion:
            taken[row["emotion"]] += 1
            selected.append(row)
    return selected


def lake_row(row: dict) -> dict:
    """A shipped row as a `texts` row: dialogue turns, speakers and masking speaker serialised as JSON in `spans`."""
    spans = None
    if row.get("spans") is not None:
        spans = {"turns": row["spans"]}
        for key in ("speakers", "masking_speaker"):
            if row.get(key) is not None:
                spans[key] = row[key]
    return {
        **row,
        "writer_model": "emolake-authors",
        "prompt_version": row.get("prompt_version", "reference-v1"),
        "spans": json.dumps(spans) if spans is not None else None,
    }


def rows_by_corpus(config) -> dict[str, list[dict]]:
    from etl.catalog import select

    emotions = select(config.common.emotions)
    out = {}
    for corpus in config.reference_corpora:
        shipped = read_corpus(corpus)
        chosen = select_rows(corpus, shipped, emotions, config.reference_per_emotion, config.reference_neutral)
        out[corpus] = [lake_row({**r, "corpus": corpus}) for r in chosen]
    return out


def prompt_records(rows_of_corpus: dict[str, list[dict]]) -> list[dict]:
    """The writing guideline behind the shipped rows, one `prompts` row per (corpus, prompt_hash) they carry."""
    guideline = (CORPUS_DIR / "GUIDELINES.md").read_text()
    return [
        {
            "prompt_hash": prompt_hash,
            "prompt_version": version,
            "source": "reference",
            "corpus": corpus,
            "template": guideline,
        }
        for corpus, rows in rows_of_corpus.items()
        for prompt_hash, version in sorted({(r["prompt_hash"], r["prompt_version"]) for r in rows})
    ]

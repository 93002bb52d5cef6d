"""The texts written by the emolake team and shipped with it: the reference corpus (`data/reference_corpus/`), the
short-text set (`data/short_texts/`) and the instruction prompts of the `prompted` probes (`etl/data/`)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from etl import resources

DATA_DIR = resources.data_dir()
CORPUS_DIR = DATA_DIR / "reference_corpus"
SHORT_DIR = DATA_DIR / "short_texts"
SHORT_CORPORA = ("short_text", "neutral_short")
PROMPT_CORPORA = ("emotion_prompt", "neutral_prompt")
TEMPLATES = resources.etl_data_dir() / "prompt_templates.toml"


def corpus_dir(corpus: str) -> Path:
    return SHORT_DIR if corpus in SHORT_CORPORA else CORPUS_DIR


def read_corpus(corpus: str) -> list[dict]:
    """All shipped rows of one corpus, in file order; [] if the corpus is not shipped."""
    if corpus in PROMPT_CORPORA:
        return prompt_rows(corpus)
    path = corpus_dir(corpus) / f"{corpus}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def prompt_rows(corpus: str) -> list[dict]:
    """The instruction prompts: every emotion template x the 171 emotions, or every neutral template x task.

    The template index is the row's `topic` (so held-out folds leave whole templates out)."""
    import hashlib
    import tomllib

    from etl.catalog import emotions
    from etl.generation.texts import text_id

    raw = TEMPLATES.read_text()
    templates = tomllib.loads(raw)
    digest = hashlib.sha256(raw.encode()).hexdigest()[:16]
    if corpus == "emotion_prompt":
        cells = [(e, i, t.format(emotion=e)) for e in emotions() for i, t in enumerate(templates["emotion"])]
    else:
        cells = [(None, i, t.format(task=k)) for k in templates["tasks"] for i, t in enumerate(templates["neutral"])]
    return [
        {
            "text_id": text_id("reference", "emolake-authors", corpus, emotion, f"template-{i}", text),
            "corpus": corpus,
            "emotion": emotion,
            "displayed_emotion": None,
            "topic": f"template-{i}",
            "text": text,
            "source": "reference",
            "prompt_hash": digest,
            "prompt_version": "prompts-v1",
            "created_at": "2026-12-05T00:00:00+00:00",
        }
        for emotion, i, text in cells
    ]


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

    def guideline(corpus: str) -> str:
        return TEMPLATES.read_text() if corpus in PROMPT_CORPORA else (corpus_dir(corpus) / "GUIDELINES.md").read_text()

    return [
        {
            "prompt_hash": prompt_hash,
            "prompt_version": version,
            "source": "reference",
            "corpus": corpus,
            "template": guideline(corpus),
        }
        for corpus, rows in rows_of_corpus.items()
        for prompt_hash, version in sorted({(r["prompt_hash"], r["prompt_version"]) for r in rows})
    ]

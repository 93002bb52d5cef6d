"""The probed model writes its own stories (generation-based extraction), in resumable chunks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from etl import catalog, prompts
from etl.texts import text_id


def cells(config) -> list[dict]:
    """Every (corpus, emotion, topic, index) the config asks the local model to write, in a fixed order."""
    topics = catalog.topics()
    out = []
    for emotion in catalog.select(config.common.emotions):
        position = catalog.emotions().index(emotion)
        for j in range(config.local_stories_per_emotion):
            topic = topics[(position * 37 + j * 12) % len(topics)]
            out.append({"corpus": "emotional_story", "emotion": emotion, "topic": topic, "index": j})
    for k in range(config.local_neutral_stories):
        out.append({"corpus": "neutral_story", "emotion": None, "topic": topics[(k * 7) % len(topics)], "index": k})
    return out


def chunks(all_cells: list[dict], size: int) -> list[tuple[str, list[dict]]]:
    """Fixed-size groups of cells with a key that names the group's contents, so a rerun finds finished ones."""
    out = []
    for start in range(0, len(all_cells), size):
        group = all_cells[start : start + size]
        key = hashlib.sha256(repr([sorted(c.items()) for c in group]).encode()).hexdigest()[:16]
        out.append((key, group))
    return out


def write_chunk(loaded, group: list[dict], key: str, config) -> list[dict]:
    """Samples one text per cell of the group; returns `texts` rows with full provenance."""
    from etl.generation import sample

    requests = [prompts.render(c["corpus"], topic=c["topic"], emotion=c["emotion"] or "") for c in group]
    seed = int(hashlib.sha256(f"{config.common.seed}:{key}".encode()).hexdigest()[:8], 16)
    outputs = sample(loaded, requests, config.local_max_new_tokens, config.temperature, seed)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = []
    for cell, text in zip(group, outputs, strict=True):
        rows.append(
            {
                "text_id": text_id("local", loaded.slug, cell["corpus"], cell["emotion"], cell["topic"], cell["index"]),
                "corpus": cell["corpus"],
                "emotion": cell["emotion"],
                "topic": cell["topic"],
                "text": text,
                "model": loaded.slug,
                "prompt_hash": prompts.template_hash(cell["corpus"]),
                "prompt_version": prompts.PROMPT_VERSION,
                "seed": seed,
                "temperature": config.temperature,
                "created_at": now,
            }
        )
    return rows

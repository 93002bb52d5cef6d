"""Quality filters: each returns a reject reason or None. Rejected rows are kept in the lake with the reason."""

from __future__ import annotations

import re

from etl.catalog import names_emotion

WORD = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)*")


def word_count(text: str) -> int:
    return len(WORD.findall(text))


def normalised(text: str) -> str:
    return " ".join(WORD.findall(text.lower()))


def reject_reason(row: dict, min_words: int, max_words: int, seen: set[str]) -> str | None:
    """Why `row` fails the filters (first reason wins), or None; adds accepted texts to `seen`."""
    text = row["text"] or ""
    n_words = word_count(text)
    if str(row.get("corpus", "")).endswith("_story"):
        if n_words < min_words:
            return "too_short"
        if n_words > max_words:
            return "too_long"
    elif n_words == 0:
        return "too_short"
    if row.get("corpus") in ("emotional_story", "deflection_dialogue"):
        for column in ("emotion", "displayed_emotion"):
            if row.get(column) and names_emotion(text, row[column]):
                return "names_emotion"
    key = normalised(text)
    if key in seen:
        return "duplicate"
    seen.add(key)
    return None


def split_rows(rows: list[dict], min_words: int, max_words: int) -> tuple[list[dict], list[dict]]:
    """(kept rows, rejected rows with a `reason` column)."""
    kept, rejected, seen = [], [], set()
    for row in rows:
        reason = reject_reason(row, min_words, max_words, seen)
        if reason is None:
            kept.append(row)
        else:
            rejected.append({**row, "reason": reason})
    return kept, rejected

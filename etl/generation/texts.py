"""The schema of the `texts` dataset, helpers to build its rows, and dialogue turns with exact character spans.

A dialogue's `spans` column holds JSON like the reference corpus's: `{"turns": [{"speaker", "start", "end"}],
"speakers": [{"name", "emotion"}] (two-speaker dialogues), "masking_speaker": "Person" (deflection dialogues)}`;
`text[start:end]` is exactly the words of one turn, without its `Name: ` label.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import pyarrow as pa

from etl.lake.schemas import TEXT_SCHEMA

DIALOGUE_CORPORA = ("neutral_dialogue", "deflection_dialogue", "speaker_dialogue")
ASSISTANT_PAIR = ("Person", "AI")
# A line that opens a turn: `Name: words`, tolerating markdown emphasis around the label (`**Person:**`).
LABEL = re.compile(r"^\s*[*_]{0,2}(?P<name>[A-Z][A-Za-z0-9'.-]*(?: [A-Z][A-Za-z0-9'.-]*){0,2})[*_]{0,2}\s*:[*_]{0,2}")


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str


def text_id(*parts: object) -> str:
    """A stable id from the parts that define a text's cell (source, corpus, emotion, topic, index...)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:20]


def to_table(rows: list[dict], schema: pa.Schema = TEXT_SCHEMA) -> pa.Table:
    """Rows (dicts) to a table of `schema`; missing columns are null, partition columns are dropped."""
    return pa.Table.from_pylist([{f.name: row.get(f.name) for f in schema} for row in rows], schema=schema)


def parse_turns(text: str) -> list[Turn] | None:
    """The turns of a `Name: words` dialogue (unlabelled lines continue the turn before), or None if words come
    before the first label or a turn is empty."""
    turns: list[Turn] = []
    for line in text.strip().splitlines():
        if not line.strip():
            continue
        match = LABEL.match(line)
        if match:
            turns.append(Turn(match["name"], _clean(line[match.end() :])))
        elif turns:
            turns[-1] = Turn(turns[-1].speaker, f"{turns[-1].text} {_clean(line)}".strip())
        else:
            return None
    if not turns or any(not t.text for t in turns):
        return None
    return turns


def render_dialogue(turns: list[Turn]) -> tuple[str, list[dict]]:
    """Canonical text (`Name: words` lines) and the exact span of each turn's words in it."""
    lines, spans, offset = [], [], 0
    for turn in turns:
        label = f"{turn.speaker}: "
        lines.append(label + turn.text)
        start = offset + len(label)
        spans.append({"speaker": turn.speaker, "start": start, "end": start + len(turn.text)})
        offset += len(lines[-1]) + 1
    return "\n".join(lines), spans


def spans_json(
    turns: list[dict], speakers: list[dict] | None = None, masking_speaker: str | None = None, **extra
) -> str:
    """The `spans` column of a dialogue, in the reference corpus's layout."""
    payload: dict = {"turns": turns}
    if speakers is not None:
        payload["speakers"] = speakers
    if masking_speaker is not None:
        payload["masking_speaker"] = masking_speaker
    payload.update(extra)
    return json.dumps(payload)


def _clean(words: str) -> str:
    """A turn's words without stray markdown emphasis or surrounding quotes."""
    words = words.strip().strip("*_").strip()
    if len(words) > 1 and words[0] == words[-1] == '"':
        words = words[1:-1].strip()
    return words

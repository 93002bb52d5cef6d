"""`emolake import`: lands a published corpus in `texts` like any other source, through the same filters.

Each input file is one unit of work: its rows are mapped to `texts` columns, split by corpus, filtered against the
source's whole corpus (`rejects` keeps the refusals) and written as `part-KEY` files, KEY being a hash of the source,
the file's name and its content. A row in `imports` (one per file: dataset, revision, licence, mapping, counts) is
written last and marks the file done, so a re-import changes no file and a killed import resumes by file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from etl import catalog
from etl.config import CORPORA, GenerateConfig
from etl.config.base import import_source
from etl.errors import EmolakeError
from etl.generation.filters import split_rows
from etl.generation.landing import Landing, write_chunk_files
from etl.generation.published import InputFile, Origin
from etl.generation.texts import ASSISTANT_PAIR, DIALOGUE_CORPORA, Turn, parse_turns, render_dialogue, spans_json
from etl.generation.texts import text_id as make_id
from etl.lake import Lake
from etl.lake.schemas import IMPORTS

log = logging.getLogger("emolake")

# Input column names tried, in order, for each field of `texts` (the first present wins; `--map` overrides).
CANDIDATES = {
    "text": ("text", "story", "content", "dialogue", "transcript", "conversation", "messages"),
    "emotion": ("emotion", "target_emotion", "felt_emotion", "hidden_emotion", "true_emotion", "label"),
    "displayed_emotion": ("displayed_emotion", "expressed_emotion", "shown_emotion", "surface_emotion"),
    "topic": ("topic", "scenario", "theme"),
    "writer_model": ("writer_model", "generator", "generated_by", "model"),
    "corpus": ("corpus", "kind", "type", "category", "subset"),
    "id": ("text_id", "id", "story_id", "dialogue_id", "uid"),
    "spans": ("spans", "turn_spans"),
    "masking_speaker": ("masking_speaker",),
}
MAPPABLE = tuple(CANDIDATES)
# Speaker labels of published dialogues, as the lake's Person/AI pair names them.
SPEAKER_NAMES = {"user": "Person", "human": "Person", "person": "Person", "assistant": "AI", "model": "AI", "ai": "AI"}


def corpus_of(label: str) -> str | None:
    """The lake corpus a file name, split or corpus value names (`stories`, `neutral`, `deflection`...), or None."""
    value = label.lower().replace("-", "_")
    if value in CORPORA:
        return value
    rules = (
        ("deflect", "deflection_dialogue"),
        ("speaker", "speaker_dialogue"),
        ("neutral_dialog", "neutral_dialogue"),
        ("neutral", "neutral_story"),
        ("stor", "emotional_story"),
        ("emotion", "emotional_story"),
    )
    return next((corpus for needle, corpus in rules if needle in value), None)


def parse_map(items: list[str]) -> dict[str, str]:
    """`--map column=field` items as {field: input column}; a bad item or an unknown field is one error line."""
    out = {}
    for item in items:
        column, sep, name = item.partition("=")
        if not sep or not column.strip() or not name.strip():
            raise EmolakeError(f"--map {item!r} is malformed: write COLUMN=FIELD, e.g. --map story=text")
        if name.strip() not in MAPPABLE:
            raise EmolakeError(f"--map {item!r}: unknown field {name.strip()!r}, choose from {list(MAPPABLE)}")
        out[name.strip()] = column.strip()
    return out


def column_mapping(columns: list[str], overrides: dict[str, str], file: str) -> dict[str, str]:
    """{field: input column} for one file: `--map` first, then the first candidate the file has."""
    missing = sorted(f"{column}={name}" for name, column in overrides.items() if column not in columns)
    if missing:
        raise EmolakeError(f"--map {', '.join(missing)}: {file} has no such column (it has {sorted(columns)})")
    mapping = dict(overrides)
    for name, candidates in CANDIDATES.items():
        if name not in mapping:
            found = next((c for c in candidates if c in columns), None)
            if found:
                mapping[name] = found
    if "text" not in mapping:
        raise EmolakeError(f"{file} has no text column among {sorted(columns)}: pass --map COLUMN=text")
    return mapping


@dataclass
class Summary:
    """What an import did, per corpus and in all."""

    source: str
    files: int = 0
    skipped_files: int = 0
    read: int = 0
    kept: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)


def import_corpus(
    lake: Lake,
    origin: Origin,
    name: str,
    config: GenerateConfig,
    corpus: str | None = None,
    overrides=None,
    force: bool = False,
) -> Summary:
    """Lands every input file of `origin` not yet imported under source `import:NAME`; returns the counts. A file
    imported before under another column mapping (or any, with `force`) is imported again: its earlier rows go."""
    source = import_source(name)
    if corpus is not None and corpus not in CORPORA:
        raise EmolakeError(f"--corpus {corpus!r} is not a corpus: choose from {list(CORPORA)}")
    overrides = overrides or {}
    keyed = [
        (file, digest := file.digest(), make_id("import", source, file.relative, digest)[:16]) for file in origin.files
    ]
    imported = imported_files(lake, source)
    pending = []
    for item in keyed:
        earlier = imported.get(item[1])
        if earlier is not None and not force and earlier["mapping"] == mapping_json(item[0], overrides):
            continue
        pending.append((*item, earlier))
    summary = Summary(source, files=len(keyed), skipped_files=len(keyed) - len(pending))
    landing = Landing(lake, source, config)
    for file, digest, key, earlier in pending:
        if earlier is not None:
            supersede(lake, origin, file, earlier, corpus, source)
        land_file(lake, landing, origin, file, digest, key, corpus, overrides, summary)
    return summary


def imported_files(lake: Lake, source: str) -> dict[str, dict]:
    """Checksum -> `imports` row of every input file the lake holds under one source."""
    import pyarrow.parquet as pq

    files = lake.files("imports", under=lake.partition("imports", source=source))
    return {row["file_sha256"]: row for f in files for row in pq.read_table(f).to_pylist()}


def mapping_json(file: InputFile, overrides: dict) -> str:
    """The column mapping a file would be imported with, as stored in its `imports` row."""
    return json.dumps(column_mapping(read_table(file).column_names, overrides, file.relative), sort_keys=True)


def supersede(lake: Lake, origin: Origin, file: InputFile, earlier: dict, corpus, source: str) -> None:
    """Removes what an earlier import of `file` landed (its ids, from the mapping it used), one commit per table."""
    rows = read_table(file).to_pylist()
    by_corpus, refused = map_rows(rows, json.loads(earlier["mapping"]), origin, file, corpus, source)
    ids = sorted({r["text_id"] for group in (*by_corpus.values(), *refused.values()) for r in group})
    log.info(
        "import: %s was imported before (another mapping or --force): its %d rows are replaced", file.relative, len(ids)
    )
    for dataset in ("texts", "rejects"):
        lake.delete(dataset, {"source": source, "text_id": ids})
    lake.delete("imports", {"source": source, "file_sha256": earlier["file_sha256"]})


def land_file(
    lake, landing: Landing, origin: Origin, file: InputFile, digest: str, key: str, corpus, overrides, summary
):
    table = read_table(file)
    mapping = column_mapping(table.column_names, overrides, file.relative)
    rows = table.to_pylist()
    by_corpus, refused = map_rows(rows, mapping, origin, file, corpus, landing.source)
    kept_total = rejected_total = 0
    for name in sorted(set(by_corpus) | set(refused)):
        kept, rejected = split_rows(by_corpus.get(name, []), landing.limits, landing.index(name))
        rejected = refused.get(name, []) + rejected
        write_chunk_files(lake, landing.source, name, key, kept, rejected)
        summary.kept[name] = summary.kept.get(name, 0) + len(kept)
        summary.rejected[name] = summary.rejected.get(name, 0) + len(rejected)
        kept_total, rejected_total = kept_total + len(kept), rejected_total + len(rejected)
        log.info("import: %s %s: %d kept, %d rejected", file.relative, name, len(kept), len(rejected))
    summary.read += len(rows)
    writer = next((r["writer_model"] for rows_ in by_corpus.values() for r in rows_ if r.get("writer_model")), None)
    record = {
        "file": file.relative,
        "file_sha256": digest,
        "dataset": origin.dataset,
        "revision": origin.revision,
        "licence": origin.licence,
        "writer_model": writer,
        "mapping": json.dumps(mapping, sort_keys=True),
        "rows_read": len(rows),
        "rows_kept": kept_total,
        "rows_rejected": rejected_total,
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # Written last: a killed import has no `imports` row, and the rerun lands what is missing (texts and rejects are
    # inserted by text_id, so nothing lands twice).
    lake.write("imports", pa.Table.from_pylist([record], schema=IMPORTS), source=landing.source)


def read_table(file: InputFile) -> pa.Table:
    suffix = file.path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(file.path)
        if suffix == ".csv":
            import pyarrow.csv as pcsv

            return pcsv.read_csv(file.path)
        import pyarrow.json as pjson

        return pjson.read_json(file.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise EmolakeError(
            f"cannot read {file.relative} ({str(exc).splitlines()[0][:120]}): is it a valid file?"
        ) from exc


def map_rows(rows: list[dict], mapping: dict, origin: Origin, file: InputFile, corpus, source: str):
    """(kept-candidate rows by corpus, rows refused before the filters by corpus) of one file."""
    file_corpus = corpus or corpus_of(file.path.stem) or corpus_of(file.relative)
    known = set(catalog.emotions())
    created = datetime.now(UTC).isoformat(timespec="seconds")
    writer = origin.published.writer_model if origin.published else None
    by_corpus: dict[str, list[dict]] = {}
    refused: dict[str, list[dict]] = {}
    for index, raw in enumerate(rows):
        value = {name: raw.get(column) for name, column in mapping.items()}
        row_corpus = corpus or (corpus_of(str(value["corpus"])) if value.get("corpus") else None) or file_corpus
        if row_corpus is None:
            raise EmolakeError(
                f"cannot tell the corpus of {file.relative}: pass --corpus C or --map COLUMN=corpus (values such as "
                "stories, neutral, deflection)"
            )
        row = {
            "text_id": make_id("import", source, row_corpus, value.get("id") or f"{file.relative}#{index}"),
            "corpus": row_corpus,
            "emotion": clean(value.get("emotion")) if row_corpus not in ("neutral_story", "neutral_dialogue") else None,
            "displayed_emotion": clean(value.get("displayed_emotion")),
            "topic": clean(value.get("topic")),
            "text": value.get("text"),
            "writer_model": clean(value.get("writer_model")) or writer,
            "prompt_version": f"import:{origin.dataset}@{origin.revision}",
            "created_at": created,
        }
        if row_corpus in DIALOGUE_CORPORA:
            row.update(dialogue_fields(value, row_corpus))
        reason = pre_reject(row, known)
        if reason:
            refused.setdefault(row_corpus, []).append({**row, "text": row["text"] or "", **reason})
        else:
            by_corpus.setdefault(row_corpus, []).append(row)
    return by_corpus, refused


def clean(value) -> str | None:
    return str(value).strip().lower() if value not in (None, "") else None


def pre_reject(row: dict, known: set[str]) -> dict | None:
    """Refusals the writers' filters never meet: no text, or an emotion outside the catalog of 171."""
    if not isinstance(row["text"], str) or not row["text"].strip():
        return {"reason": "missing_text", "detail": "no text in the mapped column"}
    for column in ("emotion", "displayed_emotion"):
        if row[column] is not None and row[column] not in known:
            return {"reason": "unknown_emotion", "detail": f"{column} {row[column]!r} is not one of the 171"}
    if row["corpus"] in ("emotional_story", "deflection_dialogue") and row["emotion"] is None:
        return {"reason": "unknown_emotion", "detail": "no emotion in the mapped column"}
    return None


def dialogue_fields(value: dict, corpus: str) -> dict:
    """Canonical `Name: words` text and its `spans` JSON, from the dataset's spans, messages or labelled text."""
    masking = {"masking_speaker": value.get("masking_speaker") or "Person"} if corpus == "deflection_dialogue" else {}
    text, spans = value.get("text"), value.get("spans")
    if isinstance(spans, str):
        spans = json.loads(spans)
    if isinstance(spans, list):
        spans = {"turns": spans}
    if isinstance(spans, dict) and spans.get("turns") and isinstance(text, str):
        return {"spans": json.dumps({**masking, **spans})}
    if isinstance(text, list):  # chat messages: [{"role": ..., "content": ...}]
        turns = [Turn(speaker_name(m.get("role", "")), str(m.get("content", "")).strip()) for m in text]
    else:
        turns = parse_turns(text or "") or []
        turns = [Turn(speaker_name(t.speaker), t.text) for t in turns]
    if not turns:
        return {"text": text if isinstance(text, str) else None, "spans": None}
    rendered, spans_ = render_dialogue(turns)
    return {"text": rendered, "spans": spans_json(spans_, **masking)}


def speaker_name(label: str) -> str:
    """A dialogue's speaker label as the lake's Person/AI pair names it (other names are kept)."""
    return SPEAKER_NAMES.get(label.strip().lower(), label.strip()) if label else ASSISTANT_PAIR[0]


def ensure_imported(config: GenerateConfig, lake: Lake) -> dict[str, Summary]:
    """For each `import:NAME` source of the generate stage: nothing if the lake holds that import, else it lands
    `[generate.imported]`'s dataset when it names NAME, else an error that says which command lands it."""
    out = {}
    for source in (s for s in config.sources if s.startswith("import--")):
        name = source.removeprefix("import--")
        if lake.has("imports", under=lake.partition("imports", source=source)):
            log.info("generate: %s is in the lake (emolake import), nothing to land", source)
            continue
        if not config.imported.dataset or config.imported.name != name:
            raise EmolakeError(
                f"source import:{name} is not in the lake: run `emolake import DATASET --name {name}` first "
                '(or set [generate.imported] dataset = "owner/name" and name = "' + name + '")'
            )
        from etl.generation.published import resolve

        out[source] = import_corpus(lake, resolve(config.imported.dataset), name, config)
    return out

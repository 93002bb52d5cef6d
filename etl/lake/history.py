"""A dataset's versions, newest first (`emolake history`), and the `--as-of` argument that reads an older one.

Delta keeps every version until `emolake vacuum` removes the files only old versions name; a version's time, the
command that made it and the rows it added come from its commit, the rows it removed from the `add` actions of the
files its `remove` actions name (Delta's overwrite metrics count files, not rows).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from etl.errors import EmolakeError
from etl.lake import datasets, delta, logs

COLUMNS = {"dataset": "string", "version": "int64", "time": "string", "operation": "string", "command": "string",
           "stage": "string", "rows_added": "int64", "rows_removed": "int64"}  # fmt: skip
AS_OF_HELP = "a UTC time (2026-12-06T10:00) or DATASET=VERSION[,DATASET=VERSION] (texts=3)"


def versions(root: Path, names: list[str] | None = None, limit: int | None = None) -> list[dict]:
    """One row per version of each named dataset (default: every dataset written), newest first per dataset."""
    for name in names or []:
        datasets.get(name)
    out = []
    for name in names or [n for n in datasets.DATASETS if logs.exists(root, n)]:
        table = delta.open_table(root, name)
        if table is None:
            continue
        removed = removed_rows(root, name)
        for entry in table.history(limit=limit):
            out.append(row(name, entry, removed.get(entry["version"], 0)))
    return out


def as_table(rows: list[dict]):
    """The rows of `versions` as an Arrow table with COLUMNS (also when there are none)."""
    import pyarrow as pa

    schema = pa.schema([(name, pa.type_for_alias(kind)) for name, kind in COLUMNS.items()])
    return pa.Table.from_pylist(rows, schema=schema)


def row(name: str, entry: dict, rows_removed: int | None) -> dict:
    metrics = entry.get("operationMetrics") or {}
    mode = (entry.get("operationParameters") or {}).get("mode", "")
    operation = {"Append": "append", "ErrorIfExists": "create", "Overwrite": "replace"}.get(
        mode, str(entry.get("operation", "")).lower()
    )
    return {
        "dataset": name,
        "version": entry["version"],
        "time": datetime.fromtimestamp(entry["timestamp"] / 1000, UTC).isoformat(timespec="seconds"),
        "operation": operation,
        "command": entry.get("emolake_command", ""),
        "stage": entry.get("emolake_stage", ""),
        "rows_added": metrics.get("num_added_rows"),
        "rows_removed": rows_removed,
    }


def removed_rows(root: Path, dataset: str) -> dict[int, int]:
    """Version -> rows its `remove` actions took out, from the row counts their `add` actions recorded."""
    rows_of: dict[str, int] = {}
    out: dict[int, int] = {}
    for name in sorted(logs.log_names(root, dataset)):
        if not re.fullmatch(r"\d{20}\.json", name):
            continue
        for action in actions(logs.log_text(root, dataset, name)):
            if isinstance(action.get("add"), dict):
                rows_of[str(action["add"].get("path"))] = stats_rows(action["add"].get("stats"))
            elif isinstance(action.get("remove"), dict):
                version = int(name[:20])
                out[version] = out.get(version, 0) + rows_of.get(str(action["remove"].get("path")), 0)
    return out


def actions(text: str) -> list[dict]:
    """The actions of one log entry's text (lines that are not JSON objects are skipped)."""
    out = []
    for line in text.splitlines():
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict):
            out.append(found)
    return out


def stats_rows(stats: object) -> int:
    try:
        return int(json.loads(str(stats)).get("numRecords", 0))
    except (ValueError, AttributeError, TypeError):
        return 0


def parse_as_of(text: str) -> datetime | dict[str, int]:
    """`--as-of`: a time (ISO 8601, UTC unless it names a zone) or dataset=version pairs; one-line errors."""
    text = text.strip()
    if "=" in text:
        pinned = {}
        for pair in text.split(","):
            name, _, version = pair.partition("=")
            name = name.strip()
            if name not in datasets.DATASETS:
                raise EmolakeError(f"--as-of {text!r}: no dataset {name!r} (`emolake history` lists them)")
            if not version.strip().isdigit():
                raise EmolakeError(f"--as-of {text!r}: {name}'s version must be a whole number, e.g. {name}=3")
            pinned[name] = int(version)
        return pinned
    if text.lstrip("-").isdigit():
        raise EmolakeError(f"--as-of {text!r}: a bare number is ambiguous; give {AS_OF_HELP}")
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        raise EmolakeError(f"--as-of {text!r}: not a time; give {AS_OF_HELP}") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def as_of_text(as_of: datetime | dict[str, int] | None) -> str | None:
    """The inverse of parse_as_of (to hand an as-of to a sandbox process)."""
    if as_of is None:
        return None
    if isinstance(as_of, dict):
        return ",".join(f"{k}={v}" for k, v in as_of.items())
    return as_of.isoformat()

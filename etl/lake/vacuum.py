"""`emolake vacuum`: remove files that only versions older than the retention window name.

Each table is vacuumed by Delta itself in its "lite" mode, which considers only files its log once added and later
removed, so nothing the lake did not write is ever touched. Shards and index files are the lake's own: those that
the newest `activations` and `files` versions no longer name, and files of the lake's own shapes that no version ever
named (a killed writer's), are removed once they are older than the window. Versions whose files are gone can no
longer be read with `--as-of`; `emolake history` still lists them.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from etl.errors import EmolakeError
from etl.lake import Lake, datasets, delta, files, leases, safety, verify

log = logging.getLogger(__name__)

RETENTION_HOURS = 168
"""Delta's default window: a reader or writer that started within it never finds its files gone."""


def vacuum(lake: Lake, retention_hours: int = RETENTION_HOURS, dry_run: bool = False) -> list[str]:
    """Removes (or, dry, lists) the lake-relative files described above; refuses beside a live writer."""
    if retention_hours < 0:
        raise EmolakeError(f"--retention-hours {retention_hours}: give 0 or more hours")
    root = lake.root
    leases.refuse_if_writing(root)
    if (root / verify.STATE / "repair.json").exists():
        raise EmolakeError("a repair was interrupted: run `emolake verify --repair` to finish it, then vacuum")
    # every log is read first: a damaged one, or one naming a path outside its table, raises here before anything
    # is removed (Delta's vacuum deletes what `remove` actions name)
    tables = {name: delta.open_table(root, name) for name in datasets.DATASETS}
    for name in tables:
        outside = verify.log_paths(root, name)[1] if tables[name] is not None else []
        if outside:
            raise safety.OutsideError(f"the log of `{name}` names {outside[0]!r}, outside the table: not vacuumed")
    removed = []
    with leases.held(root):
        for name, table in tables.items():
            if table is None:
                continue
            old = [safety.inside(root, name, rel) for rel in vacuum_table(table, retention_hours, dry_run=True)]
            if not dry_run and old:
                vacuum_table(table, retention_hours, dry_run=False)
            removed += old
        cutoff = time.time() - retention_hours * 3600
        for rel in unnamed(lake):
            path = root / rel
            if path.stat().st_mtime < cutoff:
                removed.append(rel)
                if not dry_run:
                    path.unlink()
    log.info("vacuum: %s %d file(s) older than %s h", "would remove" if dry_run else "removed", len(removed),
             retention_hours)  # fmt: skip
    return sorted(removed)


def vacuum_table(table, retention_hours: int, dry_run: bool) -> list[str]:
    """Delta's lite vacuum of one table: the table-relative files it removes (or would)."""
    from deltalake import CommitProperties

    return table.vacuum(
        retention_hours=retention_hours,
        dry_run=dry_run,
        enforce_retention_duration=False,
        commit_properties=CommitProperties(custom_metadata=delta.commit_metadata()),
    )


def unnamed(lake: Lake) -> list[str]:
    """Shards and index files the newest versions do not name, and lake-shaped files no version ever named."""
    root = lake.root
    named = set(verify.shard_rows(lake)) | {
        row["path"] for area in datasets.FILE_AREAS for row in files.entries(lake, area).values()
    }
    out = set()
    for top in (datasets.SHARDS, "index"):
        out |= {rel for rel in own_files(root, top) if rel not in named}
    referenced = verify.shard_and_blob_paths(lake, set())
    for name in datasets.DATASETS:
        referenced |= verify.logged_paths(root, name)
    out |= set(verify.strays(root, referenced))
    return sorted(out)


def own_files(root: Path, top: str) -> list[str]:
    """Lake-relative paths of the files of the lake's own shapes under one of its directories (never a symlink)."""
    base = root / top
    if not base.is_dir() or base.is_symlink():
        return []
    return [
        path.relative_to(root).as_posix()
        for path in base.rglob("*")
        if path.is_file() and not path.is_symlink() and verify.LAKE_WRITTEN.match(path.name)
    ]

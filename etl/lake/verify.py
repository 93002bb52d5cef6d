"""`emolake verify`: every table's log, every file its newest version names (size, row count, decodes), every shard
against its `activations` rows (size, checksum, shape), every index and report file against its `files` row, and
files the lake wrote that no version ever named (left by a killed writer). Nothing is changed.

Only what the lake writes is looked at: directories of its own (`datasets.OWN_DIRS`) and, in them, names of the
shapes it writes (`LAKE_WRITTEN`). Anything else in a lake (notes, a `.git`, a README) is the user's and is left
alone by verify and repair alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from etl.errors import EmolakeError
from etl.lake import Lake, checksums, datasets, delta, files, logs, safety, store

LAKE_WRITTEN = re.compile(
    r"(part-\d{5}-[0-9a-f-]{36}-c\d{3}(\.\w+)?\.parquet"  # a Delta data file (delta-rs names)
    r"|shard-\d{5}-[0-9a-f]{8}\.npy"  # a float16 shard
    r"|.+\.[0-9a-f]{12}\.(faiss|json|parquet)"  # an index file (a unique name per write)
    r"|\.tmp-[0-9a-f]{32}-.+\.partial)$"  # a temporary
)
STATE = "_emolake"
"""Where repair keeps its own state (an unfinished repair's plan) and writers their leases."""
QUARANTINE = "_quarantine"


@dataclass(frozen=True)
class Problem:
    rel: str
    """The file (or table log), relative to the lake root."""
    what: str
    dataset: str
    kind: str
    """`log` (unreadable, or naming a path outside its table), `file` (a table's data file), `shard`, `blob` (an
    index or report file), `stray`, `repair` (an interrupted repair), `outside` (a table directory that is a symlink
    leading outside the lake: left alone)."""

    def line(self) -> str:
        return f"{self.rel}: {self.what}; {fix_for(self)}"


def fix_for(problem: Problem) -> str:
    if problem.kind == "stray":
        return "`emolake verify --repair` moves it to _quarantine/"
    if problem.kind == "repair":
        return "run `emolake verify --repair` again to finish it"
    if problem.kind == "outside":
        return "remove or replace the link by hand (repair never touches what the lake did not write)"
    stage = stage_of(problem.dataset)
    if stage is None:
        entry = datasets.DATASETS.get(problem.dataset)
        return f"`emolake verify --repair` rolls it back; run `{entry.writer if entry else 'the command'}` again"
    return f"rebuilt by `emolake run {stage}` (`emolake verify --repair` does it)"


def stage_of(dataset: str) -> str | None:
    """The stage that rebuilds a dataset (or the shards, or a file area); None for a user command's output. The
    manifest is rebuilt by running the pipeline again; the checksums by the repair itself."""
    special = {datasets.SHARDS: "extract", "index": "index", "reports": "evaluate", "manifest": "generate",
               "checksums": None}  # fmt: skip
    if dataset in special:
        return special[dataset]
    entry = datasets.DATASETS.get(dataset)
    return entry.stage if entry else None


def check(lake: Lake) -> list[Problem]:
    """Every problem of the lake, one per file."""
    root = lake.root
    if not root.is_dir():
        return []
    problems = []
    if (root / STATE / "repair.json").exists():
        problems.append(Problem(f"{STATE}/repair.json", "a repair was interrupted", "", "repair"))
    for top in (datasets.SHARDS, *datasets.FILE_AREAS, STATE, QUARANTINE):
        try:
            safety.contained(root, top)
        except safety.OutsideError as exc:
            problems.append(Problem(top, delta.first_line(exc), top, "outside"))
    referenced: set[str] = set()
    for name in datasets.DATASETS:
        try:
            if not logs.exists(root, name):
                continue
        except safety.OutsideError as exc:
            problems.append(Problem(name, delta.first_line(exc), name, "outside"))
            continue
        try:
            table = delta.open_table(root, name)
            found = delta.data_files(root, name, table) if table is not None else []
            inside, outside = log_paths(root, name)
            if outside:
                raise safety.OutsideError(f"it names {outside[0]!r}, outside the table")
        except EmolakeError as exc:
            problems.append(Problem(f"{name}/_delta_log", f"unreadable ({delta.first_line(exc)})", name, "log"))
            continue
        referenced |= inside
        sums = checksums.known(root, name)
        problems += [Problem(f.rel, what, name, "file") for f in found if (what := data_problem(root, f, sums))]
    damaged = {p.dataset for p in problems if p.kind == "log"}
    if "activations" not in damaged:
        problems += shard_problems(lake, frozenset(p.rel for p in problems))
    if not any(p.dataset == "files" for p in problems):
        problems += blob_problems(lake)
    referenced |= shard_and_blob_paths(lake, damaged)
    # A table whose log cannot be read may name any of its files: none of them is called stray until it is mended.
    left = [rel for rel in strays(root, referenced) if rel.split("/", 1)[0] not in damaged]
    problems += [Problem(rel, "not committed (left by a killed writer)", "", "stray") for rel in left]
    return problems


def data_problem(root: Path, found: delta.DataFile, sums: dict) -> str | None:
    """What is wrong with one data file of a table version: missing, resized, altered (its checksum), or not
    decodable to its row count."""
    import pyarrow.parquet as pq

    path = root / found.rel
    size, digest = sums.get(found.rel, (found.bytes, None))
    problem = files.check(path, size, digest) if digest else files.check_size(path, found.bytes)
    if problem:
        return problem
    try:
        rows = pq.read_table(path).num_rows
    except Exception as exc:  # any decoding failure is damage, whatever pyarrow calls it
        return f"unreadable ({delta.first_line(exc)})"
    if found.rows is not None and rows != found.rows:
        return f"altered ({rows} rows, committed {found.rows})"
    return None


def log_paths(root: Path, dataset: str) -> tuple[set[str], list[str]]:
    """Every data file any version of a table names (history stays until `emolake vacuum`), lake-relative, and the
    paths any version names outside the table (a planted entry: never opened, moved or deleted)."""
    inside, outside = set(), []
    for name in sorted(n for n in logs.log_names(root, dataset) if n.endswith(".json")):
        for path in version_paths(logs.log_text(root, dataset, name)):
            try:
                inside.add(safety.inside(root, dataset, path))
            except EmolakeError:
                outside.append(path)
    return inside, outside


def logged_paths(root: Path, dataset: str) -> set[str]:
    return log_paths(root, dataset)[0]


def version_paths(text: str) -> list[str]:
    """The paths the `add` and `remove` actions of one log entry's text name."""
    from etl.lake.history import actions

    return [
        str(a[kind].get("path", ""))
        for a in actions(text)
        for kind in ("add", "remove")
        if isinstance(a.get(kind), dict)
    ]


def shard_rows(lake: Lake, damaged: frozenset[str] = frozenset()) -> dict[str, tuple[int, str, int]]:
    """npy path -> (bytes, sha256, largest row) over the newest `activations` version (less `damaged` files)."""
    import duckdb

    found = [str(lake.root / f.rel) for f in lake.data_files("activations") if f.rel not in damaged]
    if not found:
        return {}
    query = "select npy_path, any_value(npy_bytes), any_value(npy_sha256), max(row) from read_parquet(?) group by 1"
    return {p: (b, d, r) for p, b, d, r in duckdb.connect().execute(query, [found]).fetchall()}


def shard_problems(lake: Lake, damaged: frozenset[str]) -> list[Problem]:
    import numpy as np

    out = []
    for rel, (size, digest, last) in sorted(shard_rows(lake, damaged).items()):
        try:
            path = safety.contained(lake.root, rel, within=datasets.SHARDS)
        except EmolakeError as exc:
            out.append(Problem(rel, delta.first_line(exc), datasets.SHARDS, "shard"))
            continue
        what = files.fetched_problem(lake, rel, path, size, digest, refetch=True)
        if what is None:
            array = np.load(path, mmap_mode="r")
            if array.ndim != 2 or last >= array.shape[0]:
                what = f"shaped {array.shape}, but its index points at row {last}"
        if what:
            out.append(Problem(rel, what, datasets.SHARDS, "shard"))
    return out


def blob_problems(lake: Lake) -> list[Problem]:
    out = []
    for area in datasets.FILE_AREAS:
        for name, row in sorted(files.entries(lake, area).items()):
            try:
                path = safety.contained(lake.root, row["path"], within=area)
            except EmolakeError as exc:
                out.append(Problem(row["path"], f"{delta.first_line(exc)} (holds {name})", area, "blob"))
                continue
            what = files.fetched_problem(lake, row["path"], path, row["bytes"], row["sha256"], refetch=True)
            if what:
                out.append(Problem(row["path"], f"{what} (holds {name})", area, "blob"))
    return out


def shard_and_blob_paths(lake: Lake, damaged: set[str]) -> set[str]:
    """Shards and index/report files any version of `activations` or `files` names (history stays until
    `emolake vacuum`)."""
    import pyarrow.parquet as pq

    if damaged & {"activations", "files"}:
        return {"*"}  # a table that names them is unreadable: no file can be called stray
    out = set()
    for dataset, column in (("activations", "npy_path"), ("files", "path")):
        for rel in logged_paths(lake.root, dataset):
            try:
                if lake.remote is not None:
                    lake.remote.fetch(rel)
                out |= set(pq.read_table(lake.root / rel, columns=[column]).column(0).to_pylist())
            except Exception:  # a file vacuumed or damaged names nothing more
                continue
    return out


def strays(root: Path, referenced: set[str]) -> list[str]:
    """Files of the lake's own shapes, in its own directories, that no version names (never a user's file)."""
    if "*" in referenced:
        return []
    remote = store.of(root)
    if remote is not None:
        return sorted(
            rel
            for top in datasets.OWN_DIRS
            if top != "reports"
            for rel in remote.walk(top)
            if "/_delta_log/" not in rel and LAKE_WRITTEN.match(rel.rsplit("/", 1)[-1]) and rel not in referenced
        )
    out = []
    for top in datasets.OWN_DIRS:
        base = root / top
        if not base.is_dir() or base.is_symlink():
            continue
        for path in base.rglob("*"):
            rel = path.relative_to(root).as_posix()
            if "_delta_log" in path.parts or not path.is_file() or path.is_symlink():
                continue
            if LAKE_WRITTEN.match(path.name) and rel not in referenced and top != "reports":
                out.append(rel)
    return sorted(out)

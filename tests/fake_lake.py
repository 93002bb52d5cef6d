"""Writing a fake lake in tests the way the stages do: through `Lake.write`, one partition at a time."""

from pathlib import Path

import pyarrow as pa

from etl.lake import Lake, datasets


def put(table: pa.Table, path: Path, root: Path | None = None) -> Path:
    """Replaces the rows of the partition `path` names (DATASET/key=value/.../file) with `table`; columns the table
    lacks are null (a test names only what it needs)."""
    path = Path(path)
    root = Path(root) if root is not None else next(p.parent for p in path.parents if p.name in datasets.DATASETS)
    dataset, *parts = path.relative_to(root).parts
    partition = dict(part.split("=", 1) for part in parts if "=" in part)
    entry = datasets.get(dataset)
    if "layer" in partition:
        partition["layer"] = int(partition["layer"])
    schema = entry.table_schema()
    columns = {
        f.name: table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in schema
        if f.name not in partition
    }
    Lake(root).write(dataset, pa.table(columns), mode="replace", **partition)
    return path


def rewrite(root: Path, dataset: str, change, **scope) -> None:
    """Replaces the rows `scope` selects with `change(rows)` (an Arrow table in, one out), as a rebuild would."""
    lake = Lake(root)
    rows = lake.table(dataset).to_pyarrow_table(filters=[(k, "=", v) for k, v in scope.items()])
    lake.write(dataset, change(rows), mode="replace", where=scope)

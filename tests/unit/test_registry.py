"""The dataset registry (etl/lake/datasets.py) is the one home of a dataset's facts: its staging view reads the
table it names, and docs/lake.md shows the registry as it is."""

import re
from pathlib import Path

import pytest

from etl.lake import datasets

ROOT = Path(__file__).resolve().parents[2]
STAGING = ROOT / "sql" / "staging"


@pytest.mark.parametrize("entry", [d for d in datasets.DATASETS.values() if d.view != "-"], ids=lambda d: d.name)
def test_each_dataset_has_a_staging_view_that_reads_it(entry):
    view = STAGING / f"{entry.view}.sql"
    assert view.is_file(), f"{entry.name}: no sql/staging/{entry.view}.sql"
    text = view.read_text()
    assert text.startswith(f"-- {entry.view}:"), "the header names the view"
    assert f"${{lake}}/{entry.name}/" in text, f"{view.name} does not read the `{entry.name}` table"


def test_every_table_a_staging_view_reads_is_registered():
    read = {m for path in STAGING.glob("*.sql") for m in re.findall(r"\$\{lake\}/(\w+)/", path.read_text())}
    assert read <= set(datasets.DATASETS)


def test_the_docs_show_the_registry_as_it_is():
    assert datasets.markdown() in (ROOT / "docs" / "lake.md").read_text()


def test_partition_columns_come_first_in_every_table_schema():
    for entry in datasets.DATASETS.values():
        names = entry.table_schema().names
        assert names[: len(entry.partitions)] == list(entry.partitions)
        assert len(names) == len(set(names)), entry.name

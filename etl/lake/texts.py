"""The one reader of the lake's texts by corpus, for stages that need a handful of texts rather than vectors (the
steering norms' neutral sample, the TF-IDF judge's training set). It reads committed files only and never writes."""

from __future__ import annotations

from collections.abc import Sequence

from etl.errors import EmolakeError
from etl.lake import Lake


def read_texts(
    lake: Lake,
    corpora: Sequence[str],
    purpose: str,
    source: str | None = None,
    labelled: bool = False,
    limit: int | None = None,
) -> list[dict]:
    """{"text", "emotion"} of the texts of `corpora` (of `source` only, if given; with an emotion only, if
    `labelled`), in text_id order, at most `limit`. Refuses, in one line naming `purpose`, a lake without texts
    or without any text of those corpora: both mean `make generate` has not run."""
    import duckdb

    if not lake.has("texts"):
        raise EmolakeError(f"the lake at {lake.root} has no texts: run `make generate` before {purpose}")
    query = """
        select text, emotion from read_parquet(?, hive_partitioning = true, union_by_name = true)
        where list_contains(?, corpus) and (? or source = ?) and (not ? or emotion is not null)
        order by text_id limit ?
    """
    params = [lake.files("texts"), list(corpora), source is None, source or "", labelled, limit or 2**62]
    rows = duckdb.connect().execute(query, params).fetchall()
    if not rows:
        named = ", ".join(corpora)
        raise EmolakeError(f"the lake has no {named} texts for {purpose}: run `make generate`")
    return [{"text": text, "emotion": emotion} for text, emotion in rows]

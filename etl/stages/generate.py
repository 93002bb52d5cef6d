"""Stage `generate`: lands texts in the lake from the configured sources (reference corpus, local model)."""

from __future__ import annotations

import logging

from tqdm import tqdm

from etl.config import GenerateConfig
from etl.filters import split_rows
from etl.lake import Lake, write_table
from etl.runner import StageResult
from etl.texts import REJECT_SCHEMA, to_table

log = logging.getLogger("emolake")


def run(config: GenerateConfig) -> StageResult:
    lake = Lake(config.common.lake)
    result = StageResult()
    if "reference" in config.sources:
        _land_reference(config, lake, result)
    if "local" in config.sources:
        _write_local(config, lake, result)
    if "gemini" in config.sources:
        from etl.errors import EmolakeError

        raise EmolakeError('the gemini source is not available yet: use sources = ["reference", "local"]')
    return result


def _write_rows(lake: Lake, generator: str, corpus: str, part: str, rows: list[dict], config) -> tuple[int, int]:
    """Filters rows and writes kept and rejected ones to their partitions; returns (kept, rejected) counts."""
    kept, rejected = split_rows(rows, config.min_words, config.max_words)
    write_table(to_table(kept), lake.partition("texts", generator=generator, corpus=corpus) / f"part-{part}.parquet")
    # An empty rejects file is written too, so the `rejects` view exists as soon as anything was generated.
    path = lake.partition("rejects", generator=generator, corpus=corpus) / f"part-{part}.parquet"
    write_table(to_table(rejected, REJECT_SCHEMA), path)
    return len(kept), len(rejected)


def _land_reference(config: GenerateConfig, lake: Lake, result: StageResult) -> None:
    from etl.sources.reference import rows_by_corpus

    for corpus, rows in rows_by_corpus(config).items():
        kept, rejected = _write_rows(lake, "reference", corpus, "reference", rows, config)
        log.info("generate: reference %s: %d texts landed, %d rejected", corpus, kept, rejected)
        result.rows_read += len(rows)
        result.rows_written += kept
        result.details[f"reference/{corpus}"] = {"kept": kept, "rejected": rejected}


def _write_local(config: GenerateConfig, lake: Lake, result: StageResult) -> None:
    from etl.models import load
    from etl.sources.local import cells, chunks, write_chunk

    pending = []
    for key, group in chunks(cells(config), config.local_batch_size):
        corpora = {c["corpus"] for c in group}
        done = all(
            (lake.partition("texts", generator="local", corpus=c) / f"part-{key}.parquet").exists() for c in corpora
        )
        if not done:
            pending.append((key, group))
    log.info("generate: local model writes %d chunk(s) of up to %d texts", len(pending), config.local_batch_size)
    if not pending:
        return
    loaded = load(config.common.model)
    kept_total = rejected_total = 0
    bar = tqdm(total=sum(len(g) for _, g in pending), desc="generate (local)", unit="text")
    for key, group in pending:
        rows = write_chunk(loaded, group, key, config)
        for corpus in sorted({r["corpus"] for r in rows}):
            subset = [r for r in rows if r["corpus"] == corpus]
            kept, rejected = _write_rows(lake, "local", corpus, key, subset, config)
            kept_total, rejected_total = kept_total + kept, rejected_total + rejected
        bar.update(len(group))
    bar.close()
    log.info("generate: local model: %d texts kept, %d rejected", kept_total, rejected_total)
    result.rows_written += kept_total
    result.details["local"] = {"kept": kept_total, "rejected": rejected_total}

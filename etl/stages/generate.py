"""Stage `generate`: lands texts in the lake from the configured sources (reference corpus, local model, Gemini).

Writers work in chunks (etl/generation/plan.py; landing in etl/generation/landing.py). A chunk's `texts` and
`rejects` files commit together, and a committed chunk is never written again unless `regenerate` is set; a chunk a
killed run did not commit is written again whole under the same name, and requests whose ids already landed in
another file are not asked again, so a resumed run adds every row exactly once. Quality filters see the whole
corpus of a source: earlier runs' texts seed the duplicate index.
"""

from __future__ import annotations

import logging

from etl import catalog
from etl.config import PROMPT_CORPORA, GenerateConfig
from etl.generation.filters import Duplicates, split_rows
from etl.generation.importing import ensure_imported
from etl.generation.landing import (
    Landing,
    limits,
    pending_chunks,
    write_chunk_files,
    write_prompts,
    writer_chunks,
)
from etl.generation.plan import NeedsProbes, Pairs, norm_pairs, plan, probe_pairs
from etl.lake import Lake
from etl.model.load import model_slug
from etl.stages import StageResult

log = logging.getLogger("emolake")
COMMITS_PER_UNIT = True
"""Each chunk commits on its own (the runner commits the manifest row after the last)."""


def run(config: GenerateConfig) -> StageResult:
    """Lands the reference corpus, then what Gemini and the local model write; raises NeedsProbes at the end if
    deflection dialogues wait for `make probes`."""
    lake = Lake(config.common.lake)
    result = StageResult()
    if "reference" in config.sources:
        _land_reference(config, lake, result)
    for source, summary in ensure_imported(config, lake).items():
        result.rows_read += summary.read
        result.rows_written += sum(summary.kept.values())
        result.details[source] = {"kept": summary.kept, "rejected": summary.rejected}
    # Gemini first: its cost estimate and key check come before hours of local sampling.
    waiting: list[NeedsProbes] = []
    for writer in ("gemini", "local"):
        if writer in config.sources:
            try:
                _write(writer, config, lake, result)
            except NeedsProbes as exc:
                waiting.append(exc)  # every other corpus of every writer still lands first
    if waiting:
        raise waiting[0]
    return result


def deflection_pairs(config: GenerateConfig, lake: Lake) -> Pairs:
    emotions = catalog.select(config.common.emotions)
    if config.deflection_pairs == "norms":
        return norm_pairs(emotions)
    return probe_pairs(lake, model_slug(config.common.model), config.deflection_probe_source, emotions)


def _write(writer: str, config: GenerateConfig, lake: Lake, result: StageResult) -> None:
    sizes = config.writer_sizes(writer)
    if not any(sizes.values()):
        log.warning("generate: %s is a source but every size in [generate.%s] is 0: nothing to write", writer, writer)
        return
    model = model_slug(config.common.model) if writer == "local" else config.gemini.model
    # Deflection needs probes that may not exist yet: every other corpus is written first, so a run that stops
    # here for `make probes` keeps them.
    planned = plan(config, {**sizes, "deflection_per_target": 0}, None)
    pairs = None
    if sizes["deflection_per_target"]:
        try:
            pairs = deflection_pairs(config, lake)
        except NeedsProbes:
            _write_planned(writer, model, planned, None, config, lake, result)
            raise
        planned = plan(config, sizes, pairs)
    _write_planned(writer, model, planned, pairs, config, lake, result)


def _write_planned(writer: str, model: str, planned: dict, pairs: Pairs | None, config, lake, result) -> None:
    all_chunks = writer_chunks(writer, model, planned, config)
    write_prompts(lake, writer, list(planned))
    pending = pending_chunks(lake, writer, model, all_chunks, config.regenerate)
    empty = [c for c in pending if not c.calls]
    for chunk in empty:
        write_chunk_files(lake, writer, chunk.corpus, chunk.key, [], [])
    pending = [c for c in pending if c.calls]
    n_texts = sum(len(c.requests) for c in pending)
    log.info(
        "generate: %s (%s): %d of %d chunks to write, %d texts", writer, model, len(pending), len(all_chunks), n_texts
    )
    landing = Landing(lake, writer, config)
    pair_source = pairs.source if pairs else None
    usage: dict = {}
    if pending and writer == "local":
        from etl.generation.writers import local

        usage = {"tokens": local.write(config, pending, landing.land, pair_source)}
    elif pending:
        from etl.generation.writers import gemini

        usage = gemini.write(config, pending, landing.land, pair_source)
    for corpus, counts in landing.counts.items():
        log.info("generate: %s %s: %d texts kept, %d rejected", writer, corpus, counts["kept"], counts["rejected"])
        result.rows_written += counts["kept"]
        result.details[f"{writer}/{corpus}"] = counts
    result.rows_read += n_texts
    if usage:
        result.details[f"{writer}/usage"] = usage


def _land_reference(config: GenerateConfig, lake: Lake, result: StageResult) -> None:
    from etl.generation.writers.reference import prompt_records, rows_by_corpus

    rows_of_corpus = rows_by_corpus(config)
    write_prompts(lake, "reference", list(rows_of_corpus), prompt_records(rows_of_corpus))
    for corpus, rows in rows_of_corpus.items():
        # The shipped corpus is landed whole each time: a fresh index, so it is never compared with itself.
        if corpus in PROMPT_CORPORA:
            # Instructions built from our templates: they name their emotion by design and are never filtered.
            kept, rejected = rows, []
        else:
            kept, rejected = split_rows(
                rows, limits(config), Duplicates(config.near_duplicate, seed=config.common.seed)
            )
        write_chunk_files(lake, "reference", corpus, "reference", kept, rejected)
        log.info("generate: reference %s: %d texts landed, %d rejected", corpus, len(kept), len(rejected))
        result.rows_read += len(rows)
        result.rows_written += len(kept)
        result.details[f"reference/{corpus}"] = {"kept": len(kept), "rejected": len(rejected)}

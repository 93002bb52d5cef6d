"""Stage `generate`: lands texts in the lake from the configured sources (reference corpus, local model, Gemini).

Writers work in chunks (etl/generation.py). A chunk is finished when its `texts` file exists (its `rejects` file is
written first), and a finished chunk is never written again unless `regenerate` is set; a chunk left half-written
by a killed run is written again whole under the same name, and requests whose ids already landed in another file
are not asked again, so a resumed run adds every row exactly once. Quality filters see the whole corpus of a
generator: earlier runs' texts seed the duplicate index.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from etl import catalog, prompts
from etl.config import CORPORA, GenerateConfig
from etl.filters import Duplicates, Limits, split_rows
from etl.generation import Chunk, NeedsProbes, Pairs, chunks, norm_pairs, plan, probe_pairs
from etl.lake import Lake, write_table
from etl.models import model_slug
from etl.runner import StageResult
from etl.texts import REJECT_SCHEMA, to_table

log = logging.getLogger("emolake")


def run(config: GenerateConfig) -> StageResult:
    """Lands the reference corpus, then what Gemini and the local model write; raises NeedsProbes at the end if
    deflection dialogues wait for `make probes`."""
    lake = Lake(config.common.lake)
    result = StageResult()
    if "reference" in config.sources:
        _land_reference(config, lake, result)
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


class Landing:
    """Filters a chunk's rows against the generator's whole corpus and writes kept and rejected rows."""

    def __init__(self, lake: Lake, generator: str, config: GenerateConfig) -> None:
        self.lake, self.generator, self.config = lake, generator, config
        self.limits = limits(config)
        self.duplicates: dict[str, Duplicates] = {}
        self.counts: dict[str, dict[str, int]] = {}

    def index(self, corpus: str) -> Duplicates:
        """The corpus's duplicate index, seeded once with the texts already kept in the lake."""
        if corpus not in self.duplicates:
            index = Duplicates(self.limits.near_duplicate, seed=self.config.common.seed)
            for text_id, text in landed_rows(self.lake, "texts", self.generator, corpus, columns="text_id, text"):
                index.check(text_id, text)
            self.duplicates[corpus] = index
        return self.duplicates[corpus]

    def land(self, chunk: Chunk, rows: list[dict]) -> None:
        kept, rejected = split_rows(rows, self.limits, self.index(chunk.corpus))
        write_chunk_files(self.lake, self.generator, chunk.corpus, chunk.key, kept, rejected)
        counts = self.counts.setdefault(chunk.corpus, {"kept": 0, "rejected": 0})
        counts["kept"] += len(kept)
        counts["rejected"] += len(rejected)


def limits(config: GenerateConfig) -> Limits:
    return Limits(
        config.min_words,
        config.max_words,
        config.dialogue_min_words,
        config.dialogue_max_words,
        config.min_english,
        config.near_duplicate,
    )


def write_chunk_files(lake: Lake, generator: str, corpus: str, key: str, kept: list[dict], rejected: list[dict]):
    """Rejects first, texts last: the texts file marks the chunk finished. Both are written even when empty, so
    the `rejects` view exists as soon as anything was generated."""
    rejects = lake.partition("rejects", generator=generator, corpus=corpus) / f"part-{key}.parquet"
    write_table(to_table(rejected, REJECT_SCHEMA), rejects)
    write_table(to_table(kept), lake.partition("texts", generator=generator, corpus=corpus) / f"part-{key}.parquet")


def landed_rows(lake: Lake, dataset: str, generator: str, corpus: str, columns: str) -> list[tuple]:
    """`columns` of every row already in one partition of `texts` or `rejects` ([] if none)."""
    directory = lake.partition(dataset, generator=generator, corpus=corpus)
    if not any(directory.glob("*.parquet")):
        return []
    pattern = str(directory / "*.parquet").replace("'", "''")
    return duckdb.sql(f"select {columns} from read_parquet('{pattern}', filename = true)").fetchall()


def pending_chunks(lake: Lake, generator: str, model: str, all_chunks: list[Chunk], regenerate: bool) -> list[Chunk]:
    """Chunks to write: unfinished ones, less requests whose ids already landed in another chunk's file."""
    by_corpus: dict[str, list[Chunk]] = {}
    for chunk in all_chunks:
        by_corpus.setdefault(chunk.corpus, []).append(chunk)
    out = []
    for corpus, group in by_corpus.items():
        if regenerate:
            drop_files(lake, generator, corpus, {r.id_for(generator, model) for c in group for r in c.requests})
            out += group
            continue
        landed: dict[str, set[str]] = {}
        for dataset in ("texts", "rejects"):
            for text_id, filename in landed_rows(lake, dataset, generator, corpus, "text_id, filename"):
                landed.setdefault(text_id, set()).add(filename.rsplit("/", 1)[-1])
        for chunk in group:
            own = f"part-{chunk.key}.parquet"
            if (lake.partition("texts", generator=generator, corpus=corpus) / own).exists():
                continue
            calls = tuple(
                kept
                for call in chunk.calls
                if (kept := tuple(r for r in call if landed.get(r.id_for(generator, model), {own}) <= {own}))
            )
            out.append(Chunk(chunk.corpus, chunk.key, calls))
    return out


def drop_files(lake: Lake, generator: str, corpus: str, ids: set[str]) -> None:
    """Removes the files holding any of `ids` (regenerate: their texts are about to be written again)."""
    for dataset in ("texts", "rejects"):
        rows = landed_rows(lake, dataset, generator, corpus, "text_id, filename")
        for filename in sorted({f for text_id, f in rows if text_id in ids}):
            log.info("generate: regenerate: removing %s", filename)
            Path(filename).unlink(missing_ok=True)


def write_prompts(lake: Lake, generator: str, corpora: list[str], records: list[dict] | None = None) -> None:
    """The templates a writer uses, stored by hash in the lake's `prompts` dataset: one file per template."""
    import pyarrow as pa

    for row in records if records is not None else prompts.records(generator, tuple(corpora)):
        path = lake.partition("prompts", generator=generator) / f"part-{row['corpus']}-{row['prompt_hash']}.parquet"
        if not path.exists():
            write_table(pa.Table.from_pylist([row]), path)


def deflection_pairs(config: GenerateConfig, lake: Lake) -> Pairs:
    emotions = catalog.select(config.common.emotions)
    if config.deflection_pairs == "norms":
        return norm_pairs(emotions)
    return probe_pairs(lake, model_slug(config.common.model), config.deflection_probe_source, emotions)


def _write(writer: str, config: GenerateConfig, lake: Lake, result: StageResult) -> None:
    sizes = config.writer_sizes(writer)
    if not any(sizes.values()):
        log.warning("generate: %s is a source but every %s_* size is 0: nothing to write", writer, writer)
        return
    model = model_slug(config.common.model) if writer == "local" else config.gemini_model
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


def writer_chunks(writer: str, model: str, planned: dict, config: GenerateConfig) -> list[Chunk]:
    """Every chunk of one writer's plan, corpus by corpus."""
    per_chunk = config.local_batch_size if writer == "local" else config.gemini_calls_per_chunk
    out = []
    for corpus in (c for c in CORPORA if c in planned):
        per_call = 1 if writer == "local" else _per_call(corpus, config)
        out += chunks(corpus, planned[corpus], per_call, per_chunk, writer, model)
    return out


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
        from etl.sources import local

        usage = {"tokens": local.write(config, pending, landing.land, pair_source)}
    elif pending:
        from etl.sources import gemini

        usage = gemini.write(config, pending, landing.land, pair_source)
    for corpus, counts in landing.counts.items():
        log.info("generate: %s %s: %d texts kept, %d rejected", writer, corpus, counts["kept"], counts["rejected"])
        result.rows_written += counts["kept"]
        result.details[f"{writer}/{corpus}"] = counts
    result.rows_read += n_texts
    if usage:
        result.details[f"{writer}/usage"] = usage


def _per_call(corpus: str, config: GenerateConfig) -> int:
    return config.gemini_stories_per_call if corpus.endswith("_story") else config.gemini_dialogues_per_call


def _land_reference(config: GenerateConfig, lake: Lake, result: StageResult) -> None:
    from etl.sources.reference import prompt_records, rows_by_corpus

    rows_of_corpus = rows_by_corpus(config)
    write_prompts(lake, "reference", list(rows_of_corpus), prompt_records(rows_of_corpus))
    for corpus, rows in rows_of_corpus.items():
        # The shipped corpus is landed whole each time: a fresh index, so it is never compared with itself.
        kept, rejected = split_rows(rows, limits(config), Duplicates(config.near_duplicate, seed=config.common.seed))
        write_chunk_files(lake, "reference", corpus, "reference", kept, rejected)
        log.info("generate: reference %s: %d texts landed, %d rejected", corpus, len(kept), len(rejected))
        result.rows_read += len(rows)
        result.rows_written += len(kept)
        result.details[f"reference/{corpus}"] = {"kept": len(kept), "rejected": len(rejected)}

"""Landing generated rows in the lake: quality filters against a writer's whole corpus, chunk files written
rejects-first, and the chunks still pending (what makes a killed or repeated run land every text once)."""

from __future__ import annotations

import logging

import duckdb

from etl.config import CORPORA, GenerateConfig
from etl.generation import prompts
from etl.generation.filters import Duplicates, Limits, split_rows
from etl.generation.plan import Chunk, chunks
from etl.generation.texts import to_table
from etl.lake import Lake
from etl.lake.schemas import REJECT_SCHEMA

log = logging.getLogger("emolake")


class Landing:
    """Filters a chunk's rows against the source's whole corpus and writes kept and rejected rows."""

    def __init__(self, lake: Lake, source: str, config: GenerateConfig) -> None:
        self.lake, self.source, self.config = lake, source, config
        self.limits = limits(config)
        self.duplicates: dict[str, Duplicates] = {}
        self.counts: dict[str, dict[str, int]] = {}

    def index(self, corpus: str) -> Duplicates:
        """The corpus's duplicate index, seeded once with the texts already kept in the lake."""
        if corpus not in self.duplicates:
            index = Duplicates(self.limits.near_duplicate, seed=self.config.common.seed)
            for text_id, text in landed_rows(self.lake, "texts", self.source, corpus, columns="text_id, text"):
                index.check(text_id, text)
            self.duplicates[corpus] = index
        return self.duplicates[corpus]

    def land(self, chunk: Chunk, rows: list[dict]) -> None:
        kept, rejected = split_rows(rows, self.limits, self.index(chunk.corpus))
        write_chunk_files(self.lake, self.source, chunk.corpus, chunk.key, kept, rejected)
        counts = self.counts.setdefault(chunk.corpus, {"kept": 0, "rejected": 0})
        counts["kept"] += len(kept)
        counts["rejected"] += len(rejected)


def limits(config: GenerateConfig) -> Limits:
    return Limits(
        min_words=config.min_words,
        max_words=config.max_words,
        dialogue_min_words=config.dialogue_min_words,
        dialogue_max_words=config.dialogue_max_words,
        min_english=config.min_english,
        near_duplicate=config.near_duplicate,
    )


def write_chunk_files(lake: Lake, source: str, corpus: str, key: str, kept: list[dict], rejected: list[dict]):
    """Rejects first, then texts, each an `insert` keyed by text_id: a chunk landed twice (a resumed or a concurrent
    run) adds each text once. Both tables exist as soon as anything was generated (an empty write creates it)."""
    lake.write("rejects", to_table(rejected, REJECT_SCHEMA), source=source, corpus=corpus)
    lake.write("texts", to_table(kept), source=source, corpus=corpus)


def landed_rows(lake: Lake, dataset: str, source: str, corpus: str, columns: str) -> list[tuple]:
    """`columns` of every row already in one partition of `texts` or `rejects` ([] if none)."""
    files = lake.files(dataset, under=lake.partition(dataset, source=source, corpus=corpus))
    if not files:
        return []
    return duckdb.connect().execute(f"select {columns} from read_parquet(?)", [files]).fetchall()


def pending_chunks(lake: Lake, source: str, model: str, all_chunks: list[Chunk], regenerate: bool) -> list[Chunk]:
    """Chunks to write: those with a request whose id has landed in neither `texts` nor `rejects`, less the requests
    that have."""
    by_corpus: dict[str, list[Chunk]] = {}
    for chunk in all_chunks:
        by_corpus.setdefault(chunk.corpus, []).append(chunk)
    out = []
    for corpus, group in by_corpus.items():
        if regenerate:
            drop_rows(lake, source, corpus, {r.id_for(source, model) for c in group for r in c.requests})
            out += group
            continue
        landed = {i for d in ("texts", "rejects") for (i,) in landed_rows(lake, d, source, corpus, "text_id")}
        for chunk in group:
            calls = tuple(
                kept
                for call in chunk.calls
                if (kept := tuple(r for r in call if r.id_for(source, model) not in landed))
            )
            if calls:
                out.append(Chunk(chunk.corpus, chunk.key, calls))
    return out


def drop_rows(lake: Lake, source: str, corpus: str, ids: set[str]) -> None:
    """Removes the rows of `ids` (regenerate: their texts are about to be written again)."""
    for dataset in ("texts", "rejects"):
        if lake.table(dataset) is not None:
            log.info("generate: regenerate: removing %d %s rows of %s/%s", len(ids), dataset, source, corpus)
            lake.delete(dataset, {"source": source, "corpus": corpus, "text_id": sorted(ids)})


def write_prompts(lake: Lake, source: str, corpora: list[str], records: list[dict] | None = None) -> None:
    """The templates a writer uses, stored once by (corpus, hash) in the lake's `prompts` table."""
    rows = records if records is not None else prompts.records(source, tuple(corpora))
    lake.write("prompts", rows, source=source)


def writer_chunks(writer: str, model: str, planned: dict, config: GenerateConfig) -> list[Chunk]:
    """Every chunk of one writer's plan, corpus by corpus."""
    per_chunk = config.local.batch_size if writer == "local" else config.gemini.calls_per_chunk
    out = []
    for corpus in (c for c in CORPORA if c in planned):
        per_call = 1 if writer == "local" else texts_per_call(corpus, config)
        out += chunks(corpus, planned[corpus], per_call, per_chunk, writer, model)
    return out


def texts_per_call(corpus: str, config: GenerateConfig) -> int:
    return config.gemini.stories_per_call if corpus.endswith("_story") else config.gemini.dialogues_per_call

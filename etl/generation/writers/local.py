"""The probed model writes its own texts (generation-based extraction): batched sampling with its chat template.

One chunk of requests is one padded batch: prompts are left-padded (so every row's answer starts at the same
position) with an attention mask, sampled together, and each row stops at the first stop token (EOS or a stop id of
the model's generation config). Dialogues are started with their first speaker's label so that small models keep
the `Name: words` format; the label is part of the text that is parsed into turns.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa

from etl.generation import prompts
from etl.generation.plan import Chunk, Request, build_row, derived_seed
from etl.lake.schemas import TEXT_SCHEMA
from etl.model.sampling import sample

log = logging.getLogger("emolake")

GENERATED = TEXT_SCHEMA.append(pa.field("corpus", pa.string())).append(pa.field("source", pa.string()))
"""A sampled row as it travels to the driver (which filters and lands it): the texts schema plus its partitions."""
REQUEST = pa.struct(
    [
        ("corpus", pa.string()),
        ("index", pa.int64()),
        ("topic", pa.string()),
        ("emotion", pa.string()),
        ("displayed", pa.string()),
        ("partner_emotion", pa.string()),
        ("speakers", pa.list_(pa.string())),
        ("call", pa.int64()),
    ]
)
CHUNKS = pa.schema(
    [("shard", pa.int64()), ("corpus", pa.string()), ("key", pa.string()), ("requests", pa.list_(REQUEST))]
)


def write(config, pending: list[Chunk], land: Callable[[Chunk, list[dict]], None], pair_source: str | None) -> int:
    """Samples every pending chunk (on `config.runner`) and hands its rows to `land` in plan order; returns the number
    of tokens generated. The duplicate filter inside `land` sees chunks in the same order whichever runner sampled."""
    from etl.executors import in_plan_order, run_shards

    shards = chunk_table(pending)
    worker = functools.partial(local_worker, config, pair_source)
    outputs = run_shards(shards, worker, config.runner, desc="generate (local)")
    tokens = 0
    for position, table in in_plan_order(outputs, list(range(len(pending)))):
        land(pending[position], table.to_pylist())
        tokens += int(table.schema.metadata[b"tokens"])
    return tokens


def chunk_table(pending: list[Chunk]) -> pa.Table:
    """The pending chunks as shards: one row per chunk (`shard` is its position), its requests as structs."""
    rows = [
        {
            "shard": position,
            "corpus": chunk.corpus,
            "key": chunk.key,
            "requests": [
                {**dataclasses.asdict(request), "call": call, "speakers": list(request.speakers or []) or None}
                for call, requests in enumerate(chunk.calls)
                for request in requests
            ],
        }
        for position, chunk in enumerate(pending)
    ]
    return pa.Table.from_pylist(rows, schema=CHUNKS)


def chunk_of(row: dict) -> Chunk:
    """A chunk rebuilt from its row of `chunk_table`."""
    calls: dict[int, list[Request]] = {}
    for fields in row["requests"]:
        call, speakers = fields.pop("call"), fields.pop("speakers")
        calls.setdefault(call, []).append(Request(**fields, speakers=tuple(speakers) if speakers else None))
    return Chunk(row["corpus"], row["key"], tuple(tuple(calls[c]) for c in sorted(calls)))


def local_worker(config, pair_source: str | None):
    """Loads the model once (per process or Ray actor); returns the per-chunk sampling function."""
    from etl.model.load import load

    return functools.partial(sample_shard, load(config.common.model), config, pair_source)


def sample_shard(loaded, config, pair_source: str | None, row: dict) -> pa.Table:
    """One chunk's rows as a table (tokens generated in its metadata): the function both executors call."""
    rows, used = write_chunk(loaded, chunk_of(row), config, pair_source)
    table = pa.Table.from_pylist([{f.name: r.get(f.name) for f in GENERATED} for r in rows], schema=GENERATED)
    return table.replace_schema_metadata({"tokens": str(used)})


def write_chunk(loaded, chunk: Chunk, config, pair_source: str | None = None) -> tuple[list[dict], int]:
    """Samples one text per request of the chunk; returns (`texts` rows with full provenance, tokens generated)."""
    requests = chunk.requests
    fields = [r.fields() for r in requests]
    asks = [prompts.render(chunk.corpus, **f) for f in fields]
    prefixes = [prompts.assistant_prefix(chunk.corpus, **f) for f in fields]
    dialogue = chunk.corpus.endswith("_dialogue")
    max_new = config.local.dialogue_max_new_tokens if dialogue else config.local.max_new_tokens
    seed = derived_seed(config.common.seed, chunk.key)
    outputs = sample(loaded, asks, max_new, config.temperature, seed, prefixes)
    provenance = {
        "source": "local",
        "writer_model": loaded.slug,
        "prompt_hash": prompts.template_hash(chunk.corpus, "local"),
        "prompt_version": prompts.PROMPT_VERSION,
        "seed": seed,
        "temperature": config.temperature,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pair_source": pair_source,
    }
    rows = [
        build_row(request, f"{prefix} {out.text}".strip() if prefix else out.text, None, provenance)
        for request, prefix, out in zip(requests, prefixes, outputs, strict=True)
    ]
    return rows, sum(out.n_tokens for out in outputs)

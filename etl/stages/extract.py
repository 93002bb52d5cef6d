"""Stage `extract`: mean residual-stream vectors of the probed model per text segment, for every requested layer.

Stories and neutral texts have one segment, `text` (tokens from `skip_tokens` on); short texts (`whole_corpora`) are
averaged over every token but the first; instructions (`prompt_corpora`) are wrapped in the model's chat template and
read at the last token (segment `last`). Dialogues of `span_corpora` are averaged over exact speaker spans:
deflection dialogues over the masking speaker's turns (`masking`), speaker dialogues over each speaker's turns
(`speaker_0`, `speaker_1`).

Writes float16 shards (`shards/model=M/layer=L/shard-N-W.npy`, one row per text segment; W names the writing
process, so two writers never share a file) and their index rows in the `activations` table, which name each
array with its size and checksum. A shard is the unit of checkpointing: its arrays are written first, then its index
rows at every layer in one `insert` commit keyed by (text, segment), so a killed run leaves whole shards, a rerun does
the rest, and two concurrent runs never store a vector twice. Every index row carries the hash of the settings that
shape a vector (model, token rules, truncation); when they change, the rows built under other settings are removed in
one commit before new ones are made (their arrays stay until `emolake vacuum`).

The pending texts are planned as shards before anything runs (`plan_shards`); each shard is one call of
`extract_shard`, in this process or on Ray actors (`[runner]`, etl/executors/): the same function and the same writes
either way.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
import uuid

import duckdb
import numpy as np
import pyarrow as pa

from etl.config import ExtractConfig
from etl.executors import run_shards
from etl.lake import Lake, files
from etl.lake.vectors import done_ids, settings_hash, stale_settings
from etl.model.batching import tuned_batch_tokens
from etl.model.flops import log_extraction
from etl.model.load import load, load_shape, model_slug, precision
from etl.model.residuals import mean_residuals, tokenize
from etl.stages import StageResult

log = logging.getLogger("emolake")

PLANNED_TEXT = pa.struct(
    [
        ("text_id", pa.string()),
        ("corpus", pa.string()),
        ("source", pa.string()),
        ("model_text", pa.string()),
        ("segments", pa.string()),
        ("done_layers", pa.list_(pa.int64())),
        ("n_tokens", pa.int64()),
    ]
)
SHARD_PLAN = pa.schema([("shard", pa.int64()), ("tokens", pa.int64()), ("texts", pa.list_(PLANNED_TEXT))])
"""One row per planned shard: its id, its tokens, and what each of its texts needs (JSON segments, layers done)."""
SHARD_OUTCOME = pa.schema(
    [("shard", pa.int64()), ("rows_written", pa.int64()), ("skipped", pa.int64()), ("tokens", pa.int64())]
)


def read_pending(lake: Lake, corpora: tuple[str, ...], model: str, layers: list[int], settings: str) -> list[dict]:
    """Texts of the given corpora that lack a vector at one or more of `layers`, in a fixed order."""
    if not lake.has("texts"):
        from etl.errors import EmolakeError

        raise EmolakeError(f"the lake at {lake.root} has no texts: run `make generate` first")
    con = duckdb.connect()
    query = (
        "select text_id, corpus, source, text, spans"
        " from read_parquet(?, hive_partitioning = true, union_by_name = true)"
        " where corpus in (select unnest(?)) order by source, corpus, text_id"
    )
    texts = con.sql(query, params=[lake.files("texts"), list(corpora)]).to_arrow_table().to_pylist()
    done = done_ids(lake, model, layers, settings)
    return [t for t in texts if any(t["text_id"] not in done[layer] for layer in layers)]


def segments_of(text: dict, config: ExtractConfig) -> list[tuple[str, list[tuple[int, int]] | None]]:
    """(segment name, character spans or None for the `skip_tokens` rule) for one text, as the model reads it."""
    if text["corpus"] in config.prompt_corpora:
        return [("last", [(len(text["model_text"]) - 1, len(text["model_text"]))])]
    if text["corpus"] in config.whole_corpora:
        return [("text", [(0, len(text["model_text"]))])]
    if text["corpus"] not in config.span_corpora or not text["spans"]:
        return [("text", None)]
    spans = json.loads(text["spans"])
    turns = spans.get("turns", [])
    if text["corpus"] == "deflection_dialogue":
        masking = spans.get("masking_speaker", "Person")
        return [("masking", [(t["start"], t["end"]) for t in turns if t["speaker"] == masking])]
    speakers = [s["name"] for s in spans.get("speakers", [])]
    return [
        (f"speaker_{i}", [(t["start"], t["end"]) for t in turns if t["speaker"] == name])
        for i, name in enumerate(speakers)
    ]


def model_text(text: dict, config: ExtractConfig, tokenizer) -> str:
    """What the model reads: instructions wrapped in its chat template (read at the last token), else the text."""
    if text["corpus"] in config.prompt_corpora:
        from etl.model.generate import chat_prompt

        return chat_prompt(tokenizer, text["text"])
    return text["text"]


def span_lists(segments: list[tuple[str, list[tuple[int, int]] | None]]) -> list | None:
    """The spans of each segment, or None when the text uses the whole-text rule."""
    return None if segments[0][1] is None else [spans for _, spans in segments]


def write_arrays(
    lake: Lake, model: str, layers: list[int], shard: int, vectors: np.ndarray, needed: set[int]
) -> dict[int, dict]:
    """Writes one float16 array per needed layer (`vectors` has a column per layer of `layers`), fsynced and renamed
    into place; returns layer -> its path, size, checksum."""
    out = {}
    writer = uuid.uuid4().hex[:8]  # a name no other write uses: committed shards are never overwritten
    for column, layer in enumerate(layers):
        if layer not in needed:
            continue
        final = lake.shard_npy(model, layer, shard, writer)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".tmp-{uuid.uuid4().hex}-{final.name}.partial")
        with open(tmp, "wb") as handle:
            np.save(handle, vectors[:, column].astype(np.float16))
        files.fsync(tmp)
        digest = files.sha256(tmp)
        os.replace(tmp, final)
        lake.publish(final)
        out[layer] = {"npy_path": lake.rel(final), "npy_bytes": final.stat().st_size, "npy_sha256": digest}
    return out


def write_shard(
    lake: Lake, model: str, layers: list[int], shard: int, texts: list[dict], result, done, config, settings: str
) -> int:
    """Writes one shard's arrays (a row per text segment), then its index rows (texts new at each layer) in one
    commit. Returns the number of index rows added."""
    needed = {layer for layer in layers if any(t["text_id"] not in done[layer] for t in texts)}
    arrays = write_arrays(lake, model, layers, shard, result.vectors, needed)
    rows = []
    for layer in layers:
        for i, (text_position, segment) in enumerate(zip(result.text_index, result.segment_index, strict=True)):
            text = texts[text_position]
            if text["text_id"] in done[layer]:
                continue
            name, spans = text["segments"][segment]
            if result.n_used[i] > 0:
                status = "ok"
            else:
                status = "shorter_than_skip_tokens" if spans is None else "no_tokens_in_spans"
            rows.append(
                {
                    "layer": layer,
                    "text_id": text["text_id"],
                    "segment": name,
                    "corpus": text["corpus"],
                    "source": text["source"],
                    "shard": shard,
                    "row": i,
                    "n_tokens": int(result.n_tokens[i]),
                    "n_used": int(result.n_used[i]),
                    "skip_tokens": config.skip_tokens,
                    "settings_hash": settings,
                    "status": status,
                    **arrays[layer],
                }
            )
    added = lake.write("activations", rows, model=model)
    if added < len(rows):
        drop_unreferenced(lake, [a["npy_path"] for a in arrays.values()])
    return added


def drop_unreferenced(lake: Lake, written: list[str]) -> None:
    """Deletes this shard's arrays that no committed row names: another writer committed the same texts first, so
    these were never committed (their names are this write's own: no other file can be touched)."""
    table = lake.table("activations")
    named = set(
        table.to_pyarrow_table(columns=["npy_path"], filters=[("npy_path", "in", written)]).column(0).to_pylist()
    )
    for rel in set(written) - named:
        (lake.root / rel).unlink(missing_ok=True)


def plan_shards(lake: Lake, config: ExtractConfig, tokenizer, model: str, layers: list[int]) -> pa.Table:
    """The pending texts cut into shards, one row per shard (`shard`, `texts`), before anything runs.

    Texts are sorted by (tokens, text_id) and cut every `shard_texts`, so a rerun after a killed run plans each
    unfinished shard again with the same texts.
    """
    settings = settings_hash(config, config.common.model, precision(config.common.model))
    pending = read_pending(lake, config.corpora, model, layers, settings)
    done = done_ids(lake, model, layers, settings)
    for text in pending:
        text["model_text"] = model_text(text, config, tokenizer)
        text["segments"] = json.dumps(segments_of(text, config))
        text["done_layers"] = [layer for layer in layers if text["text_id"] in done[layer]]
        del text["text"], text["spans"]
    lengths = [len(ids) for ids in tokenize(tokenizer, [t["model_text"] for t in pending], config.max_tokens)]
    for text, n_tokens in zip(pending, lengths, strict=True):
        text["n_tokens"] = n_tokens
    order = sorted(range(len(pending)), key=lambda i: (lengths[i], pending[i]["text_id"]))
    cuts = range(0, len(pending), config.shard_texts)
    ids = range(len(cuts))
    rows = [
        {"shard": shard, "tokens": sum(lengths[i] for i in order[start : start + config.shard_texts]),
         "texts": [pending[i] for i in order[start : start + config.shard_texts]]}
        for shard, start in zip(ids, cuts, strict=True)
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=SHARD_PLAN)


def extract_worker(config: ExtractConfig, model: str, layers: list[int]):
    """Loads the model once (per process or Ray actor) and returns the per-shard function bound to it (with the batch
    size tuned once to the device's free memory)."""
    loaded = load(config.common.model)
    batch = tuned_batch_tokens(loaded, config.batch_tokens, config.max_tokens, max(layers) + 1, config.auto_batch)
    return functools.partial(extract_shard, loaded, Lake(config.common.lake), model, layers, config, batch)


def extract_shard(
    loaded, lake: Lake, model: str, layers: list[int], config: ExtractConfig, batch_tokens: int, row: dict
) -> pa.Table:
    """One shard of the plan: mean residuals of its texts, committed as that shard's arrays and index (write_shard).

    The one function both executors call; returns one outcome row (shard, rows written, skipped segments, tokens).
    """
    texts = row["texts"]
    for text in texts:
        text["segments"] = [(name, spans) for name, spans in json.loads(text["segments"])]
    done = {layer: {t["text_id"] for t in texts if layer in t["done_layers"]} for layer in layers}
    means = mean_residuals(
        loaded.model,
        loaded.tokenizer,
        [t["model_text"] for t in texts],
        layers,
        config.skip_tokens,
        config.max_tokens,
        batch_tokens,
        segments=[span_lists(t["segments"]) for t in texts],
    )
    written = write_shard(
        lake,
        model,
        layers,
        row["shard"],
        texts,
        means,
        done,
        config,
        settings_hash(config, config.common.model, precision(config.common.model)),
    )
    outcome = {"shard": row["shard"], "rows_written": written, "skipped": int((means.n_used == 0).sum())}
    return pa.Table.from_pylist([{**outcome, "tokens": row["tokens"]}], schema=SHARD_OUTCOME)


def run(config: ExtractConfig) -> StageResult:
    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    # On Ray the driver only plans: the weights are loaded by the actors.
    loaded = load_shape(config.common.model) if config.runner.backend == "ray" else load(config.common.model)
    layers = sorted(config.layers) if config.layers is not None else list(range(loaded.n_layers))
    bad = [layer for layer in layers if not 0 <= layer < loaded.n_layers]
    if bad:
        from etl.errors import EmolakeError

        raise EmolakeError(f"extract.layers {bad} do not exist: {model} has layers 0..{loaded.n_layers - 1}")
    stale = stale_settings(lake, model, settings_hash(config, config.common.model, precision(config.common.model)))
    if stale:
        log.info("extract: index rows of %s built under other settings %s: superseded", model, stale)
        lake.delete("activations", {"model": model, "settings_hash": stale})
    shards = plan_shards(lake, config, loaded.tokenizer, model, layers)
    n_texts = sum(len(texts) for texts in shards.column("texts").to_pylist())
    megabytes = n_texts * len(layers) * loaded.hidden * 2 / 1e6
    log.info(
        "extract: %d texts x %d layers pending in %d shard(s) on the %s runner (%.1f MB of float16 to write)",
        n_texts,
        len(layers),
        shards.num_rows,
        config.runner.backend,
        megabytes,
    )
    result = StageResult(rows_read=n_texts)
    skipped, clock = 0, time.perf_counter()
    worker = functools.partial(extract_worker, config, model, layers)
    for _, outcome in run_shards(shards, worker, config.runner, desc=f"extract ({model})"):
        result.rows_written += outcome.column("rows_written")[0].as_py()
        skipped += outcome.column("skipped")[0].as_py()
    tokens = sum(shards.column("tokens").to_pylist())
    result.details = {
        "texts": n_texts,
        "layers": len(layers),
        "model_layers": loaded.n_layers,  # the depth a layer is relative to (model comparison reads it)
        "skipped_short": skipped,
        "tokens": tokens,
        "precision": precision(config.common.model),
    }
    if n_texts and config.runner.backend == "local":
        # Seconds include the shard writes: the figure is what the stage achieved, not the forward pass alone.
        seconds = time.perf_counter() - clock
        lengths = [t["n_tokens"] for texts in shards.column("texts").to_pylist() for t in texts]
        result.details["efficiency"] = log_extraction(
            loaded.model, max(layers) + 1, lengths, seconds, config.peak_tflops
        )
    log.info(
        "extract: wrote %d index rows; %d segments had no token to average (under %d tokens or empty spans)",
        result.rows_written,
        skipped,
        config.skip_tokens,
    )
    return result

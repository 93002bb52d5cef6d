"""Stage `extract`: mean residual-stream vectors of the probed model per text segment, for every requested layer.

Stories and neutral texts have one segment, `text` (tokens from `skip_tokens` on); short texts (`whole_corpora`) are
averaged over every token but the first; instructions (`prompt_corpora`) are wrapped in the model's chat template and
read at the last token (segment `last`). Dialogues of `span_corpora` are averaged over exact speaker spans:
deflection dialogues over the masking speaker's turns (`masking`), speaker dialogues over each speaker's turns
(`speaker_0`, `speaker_1`).

Writes float16 shards (`shards/model=M/layer=L/shard-N.npy`, one row per text) and their Parquet index
(`activations/model=M/layer=L/shard-N.parquet`). A shard is the unit of checkpointing: its arrays are written
first, its index last, and a shard missing from any layer's index is deleted and redone on resume.
"""

from __future__ import annotations

import json
import logging

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from etl.config import ExtractConfig
from etl.lake import Lake, atomic_path, schemas, write_table
from etl.model.load import load, model_slug
from etl.model.residuals import mean_residuals, tokenize
from etl.runner import StageResult

log = logging.getLogger("emolake")


def read_pending(lake: Lake, corpora: tuple[str, ...], model: str, layers: list[int]) -> list[dict]:
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
    texts = con.sql(query, params=[lake.glob("texts"), list(corpora)]).to_arrow_table().to_pylist()
    done = done_ids(lake, model, layers)
    return [t for t in texts if any(t["text_id"] not in done[layer] for layer in layers)]


def done_ids(lake: Lake, model: str, layers: list[int]) -> dict[int, set[str]]:
    out = {}
    for layer in layers:
        files = sorted(lake.partition("activations", model=model, layer=layer).glob("shard-*.parquet"))
        ids: set[str] = set()
        for path in files:
            ids.update(pq.read_table(path, columns=["text_id"]).column(0).to_pylist())
        out[layer] = ids
    return out


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
        from etl.generation.plan import chat_prompt

        return chat_prompt(tokenizer, text["text"])
    return text["text"]


def span_lists(segments: list[tuple[str, list[tuple[int, int]] | None]]) -> list | None:
    """The spans of each segment, or None when the text uses the whole-text rule."""
    return None if segments[0][1] is None else [spans for _, spans in segments]


def drop_incomplete_shards(lake: Lake, model: str, layers: list[int]) -> int:
    """Deletes shards that a killed run left without an index at some layer; returns the next free shard number."""
    per_layer = [
        {int(p.stem.split("-")[1]) for p in lake.partition("activations", model=model, layer=layer).glob("*.parquet")}
        for layer in layers
    ]
    complete = set.intersection(*per_layer) if per_layer else set()
    partial = set.union(*per_layer) - complete if per_layer else set()
    for shard in partial:
        for layer in layers:
            lake.shard_index(model, layer, shard).unlink(missing_ok=True)
            lake.shard_npy(model, layer, shard).unlink(missing_ok=True)
    if partial:
        log.info("extract: removed %d incomplete shard(s) of an interrupted run: %s", len(partial), sorted(partial))
    return max(complete, default=-1) + 1


def write_shard(lake: Lake, model: str, layers: list[int], shard: int, texts: list[dict], result, done, config) -> int:
    """Writes one shard's arrays (a row per text segment), then its index rows (only texts new at each layer).

    Returns the number of index rows written.
    """
    written = 0
    for column, layer in enumerate(layers):
        with atomic_path(lake.shard_npy(model, layer, shard)) as tmp, open(tmp, "wb") as handle:
            np.save(handle, result.vectors[:, column].astype(np.float16))
    for layer in layers:
        rows = []
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
                    "text_id": text["text_id"],
                    "segment": name,
                    "corpus": text["corpus"],
                    "source": text["source"],
                    "shard": shard,
                    "row": i,
                    "n_tokens": int(result.n_tokens[i]),
                    "n_used": int(result.n_used[i]),
                    "skip_tokens": config.skip_tokens,
                    "status": status,
                    "npy_path": str(lake.shard_npy(model, layer, shard).relative_to(lake.root)),
                }
            )
        write_table(pa.Table.from_pylist(rows, schema=schemas.ACTIVATIONS), lake.shard_index(model, layer, shard))
        written += len(rows)
    return written


def run(config: ExtractConfig) -> StageResult:
    lake = Lake(config.common.lake)
    model = model_slug(config.common.model)
    loaded = load(config.common.model)
    layers = sorted(config.layers) if config.layers is not None else list(range(loaded.n_layers))
    bad = [layer for layer in layers if not 0 <= layer < loaded.n_layers]
    if bad:
        from etl.errors import EmolakeError

        raise EmolakeError(f"extract.layers {bad} do not exist: {model} has layers 0..{loaded.n_layers - 1}")
    next_shard = drop_incomplete_shards(lake, model, layers)
    pending = read_pending(lake, config.corpora, model, layers)
    for text in pending:
        text["model_text"] = model_text(text, config, loaded.tokenizer)
        text["segments"] = segments_of(text, config)
    done = done_ids(lake, model, layers)
    lengths = [len(ids) for ids in tokenize(loaded.tokenizer, [t["model_text"] for t in pending], config.max_tokens)]
    order = sorted(range(len(pending)), key=lambda i: (lengths[i], pending[i]["text_id"]))
    pending = [pending[i] for i in order]
    lengths = [lengths[i] for i in order]
    megabytes = len(pending) * len(layers) * loaded.hidden * 2 / 1e6
    log.info(
        "extract: %d texts x %d layers pending (%.1f MB of float16 to write)", len(pending), len(layers), megabytes
    )
    result = StageResult(rows_read=len(pending))
    bar = tqdm(total=sum(lengths), desc=f"extract ({model})", unit="tok", unit_scale=True)
    skipped = 0
    for start in range(0, len(pending), config.shard_texts):
        texts = pending[start : start + config.shard_texts]
        means = mean_residuals(
            loaded.model,
            loaded.tokenizer,
            [t["model_text"] for t in texts],
            layers,
            config.skip_tokens,
            config.max_tokens,
            config.batch_tokens,
            progress=bar.update,
            segments=[span_lists(t["segments"]) for t in texts],
        )
        result.rows_written += write_shard(lake, model, layers, next_shard, texts, means, done, config)
        skipped += int((means.n_used == 0).sum())
        next_shard += 1
    bar.close()
    result.details = {
        "texts": len(pending),
        "layers": len(layers),
        "model_layers": loaded.n_layers,  # the depth a layer is relative to (model comparison reads it)
        "skipped_short": skipped,
        "tokens": sum(lengths),
    }
    log.info(
        "extract: wrote %d index rows; %d segments had no token to average (under %d tokens or empty spans)",
        result.rows_written,
        skipped,
        config.skip_tokens,
    )
    return result

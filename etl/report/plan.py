"""The plan of an extraction before it runs: texts and tokens, layers, float16 disk, FLOPs and time, and what the lake
already holds (skipped). `emolake run ... --plan` prints it; a real run logs it first.

Counts come from the lake's `texts`; corpora not landed yet are counted from what the run would land: the shipped
reference corpus, and a known published corpus at its published counts (said so in the output). Tokens are words x
the tokenizer's tokens per word (measured on sample texts when the model is at hand, else 1.3), capped at
`max_tokens`; a published corpus not in the lake uses its assumed mean length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from etl.lake import Lake
from etl.model.flops import Shape, forward_flops

ASSUMED_TOKENS_PER_WORD = 1.3
REFERENCE_MFU = 0.4
CARDS = (("H100", 989.0), ("A100", 312.0), ("L4", 121.0))
SEGMENTS = {"speaker_dialogue": 2}
"""Rows per text in the shards (one per speaker of a two-speaker dialogue; one otherwise)."""


@dataclass(frozen=True)
class CorpusCount:
    source: str
    corpus: str
    texts: int
    tokens: int
    done: int = 0
    """Texts already extracted at every planned layer (skipped)."""
    origin: str = "lake"
    """`lake`, `shipped`, or `published` (not in the lake yet: the published count)."""

    @property
    def pending(self) -> int:
        return self.texts - self.done

    @property
    def pending_tokens(self) -> int:
        return round(self.tokens * self.pending / self.texts) if self.texts else 0


@dataclass
class Plan:
    model: str
    shape: Shape
    layers: list[int]
    counts: list[CorpusCount]
    tokens_per_s: float | None = None
    throughput_how: str = ""
    device: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def texts(self) -> int:
        return sum(c.pending for c in self.counts)

    @property
    def tokens(self) -> int:
        return sum(c.pending_tokens for c in self.counts)

    @property
    def segments(self) -> int:
        return sum(c.pending * SEGMENTS.get(c.corpus, 1) for c in self.counts)

    @property
    def bytes_per_layer(self) -> int:
        return self.segments * self.shape.hidden * 2  # float16

    @property
    def total_bytes(self) -> int:
        return self.bytes_per_layer * len(self.layers)

    @property
    def flops(self) -> float:
        mean = self.tokens / self.texts if self.texts else 0
        return forward_flops(self.shape, max(self.layers) + 1, [round(mean)]) * self.texts if self.texts else 0.0

    @property
    def seconds(self) -> float | None:
        return self.tokens / self.tokens_per_s if self.tokens_per_s else None


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "not measured"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def size(n_bytes: float) -> str:
    if n_bytes >= 1e8:
        return f"{n_bytes / 1e9:.2f} GB"
    return f"{n_bytes / 1e6:.2f} MB" if n_bytes >= 1e5 else f"{n_bytes / 1e3:.2f} KB"


def render(plan: Plan) -> str:
    """The plan as the lines `--plan` prints."""
    lines = [
        f"plan: extract with {plan.model} ({plan.shape.layers} layers, hidden {plan.shape.hidden}, "
        f"~{plan.shape.params() / 1e9:.2f} B matmul params)",
        f"  layers: {len(plan.layers)} of {plan.shape.layers}: {plan.layers}",
        "  corpus                       source            texts   in lake     tokens to run   counted from",
    ]
    for c in plan.counts:
        lines.append(f"  {c.corpus:<28} {c.source:<15} {c.texts:>9,} {c.done:>9,} {c.pending_tokens:>12,}   {c.origin}")
    lines += [
        f"  to process: {plan.texts:,} texts, {plan.tokens:,} tokens ({plan.segments:,} vector rows per layer)",
        f"  disk (float16): {size(plan.bytes_per_layer)} per layer, {size(plan.total_bytes)} for {len(plan.layers)} "
        "layers",
        f"  compute: {plan.flops:.3g} FLOPs through {max(plan.layers) + 1} blocks",
    ]
    if plan.tokens_per_s:
        lines.append(
            f"  time: {duration(plan.seconds)} at {plan.tokens_per_s:,.0f} tokens/s on {plan.device} "
            f"(measured: {plan.throughput_how})"
        )
    if plan.flops:
        # Arithmetic, not a measurement: what the FLOPs take at a given MFU on common cards' dense bf16 peaks.
        cards = ", ".join(f"{name} {duration(plan.flops / (peak * 1e12 * REFERENCE_MFU))}" for name, peak in CARDS)
        lines.append(f"  for reference, at {REFERENCE_MFU:.0%} MFU (not measured): {cards}")
    lines += [f"  note: {note}" for note in plan.notes]
    return "\n".join(lines)


def lake_texts(lake: Lake, corpora: tuple[str, ...], max_tokens: int, per_word: float) -> list[tuple]:
    """(source, corpus, text_id, estimated tokens) of every landed text of `corpora`."""
    if not lake.has("texts"):
        return []
    import duckdb

    query = """
        select source, corpus, text_id,
               least(?, ceil(len(regexp_split_to_array(trim(text), '\\s+')) * ?))::bigint
        from read_parquet(?, hive_partitioning = true) where corpus in (select unnest(?))
    """
    return duckdb.connect().sql(query, params=[max_tokens, per_word, lake.files("texts"), list(corpora)]).fetchall()


def landed_counts(lake: Lake, rows: list[tuple], done: set[str]) -> list[CorpusCount]:
    totals: dict[tuple[str, str], list[int]] = {}
    for source, corpus, text_id, tokens in rows:
        entry = totals.setdefault((source, corpus), [0, 0, 0])
        entry[0], entry[1], entry[2] = entry[0] + 1, entry[1] + int(tokens), entry[2] + (text_id in done)
    return [CorpusCount(s, c, n, t, d) for (s, c), (n, t, d) in sorted(totals.items())]


def unlanded_counts(preset, landed: set[str], per_word: float) -> tuple[list[CorpusCount], list[str]]:
    """What the generate stage would land that the lake lacks: shipped reference texts, a known published corpus."""
    from etl.generation.published import PUBLISHED

    config, extract = preset.generate, preset.extract
    counts, notes = [], []
    for source in (s for s in config.sources if s not in landed):
        if source == "reference":
            from etl.generation.writers.reference import rows_by_corpus

            for corpus, rows in rows_by_corpus(config).items():
                if corpus in extract.corpora and rows:
                    tokens = sum(min(extract.max_tokens, round(len(r["text"].split()) * per_word)) for r in rows)
                    counts.append(CorpusCount(source, corpus, len(rows), tokens, origin="shipped"))
        elif source.startswith("import--") and config.imported.dataset.split("@")[0] in PUBLISHED:
            published = PUBLISHED[config.imported.dataset.split("@")[0]]
            for corpus, n in published.counts.items():
                if corpus in extract.corpora:
                    tokens = n * min(extract.max_tokens, published.mean_tokens[corpus])
                    counts.append(CorpusCount(source, corpus, n, tokens, origin="published"))
            notes.append(
                f"{source} is not in the lake: {published.dataset}'s published counts, at an assumed mean of "
                f"{published.mean_tokens} tokens per text (its card states none)"
            )
        else:
            notes.append(
                f"{source} has no texts in the lake yet and its size is not known before it writes: not counted"
            )
    return counts, notes


def plan_of(preset, calibrate: bool = True, seconds: float = 3.0) -> Plan:
    """The plan of the preset's extract stage on its lake; `calibrate` measures throughput on this device."""
    from etl.errors import EmolakeError
    from etl.lake.vectors import done_ids, settings_hash
    from etl.model.calibrate import measure, model_at_hand, model_shape
    from etl.model.load import model_slug, precision

    spec, extract = preset.common.model, preset.extract
    shape = model_shape(spec)
    if shape is None:
        raise EmolakeError(
            f"no config for model {spec!r} on this machine: load it once (or name a known model) to plan"
        )
    layers = sorted(extract.layers) if extract.layers is not None else list(range(shape.layers))
    if not all(0 <= layer < shape.layers for layer in layers):
        raise EmolakeError(f"extract.layers {layers} do not exist: {spec} has layers 0..{shape.layers - 1}")
    lake = Lake(preset.common.lake)
    samples = sample_texts(lake)
    per_word = tokens_per_word(spec, samples) if calibrate and model_at_hand(spec) else ASSUMED_TOKENS_PER_WORD
    rows = lake_texts(lake, extract.corpora, extract.max_tokens, per_word)
    per_layer = done_ids(lake, model_slug(spec), layers, settings_hash(extract, spec, precision(spec))) if rows else {}
    done = set.intersection(*per_layer.values()) if per_layer else set()
    counts = landed_counts(lake, rows, done)
    more, notes = unlanded_counts(preset, {c.source for c in counts}, per_word)
    plan = Plan(spec, shape, layers, counts + more, notes=notes)
    if per_word == ASSUMED_TOKENS_PER_WORD:
        plan.notes.append(f"tokens assume {ASSUMED_TOKENS_PER_WORD} tokens per word (the tokenizer is not at hand)")
    if calibrate and plan.texts:
        mean = min(extract.max_tokens, max(1, plan.tokens // plan.texts))
        measured = measure(spec, shape, max(layers) + 1, mean, samples, seconds)
        plan.tokens_per_s, plan.throughput_how, plan.device = measured.tokens_per_s, measured.how, measured.device
    return plan


def sample_texts(lake: Lake, n: int = 64) -> list[str]:
    """Texts to calibrate on: the lake's first stories, else the shipped reference stories."""
    if lake.has("texts"):
        import duckdb

        query = "select text from read_parquet(?, hive_partitioning = true) where corpus = 'emotional_story' limit ?"
        found = [r[0] for r in duckdb.connect().sql(query, params=[lake.files("texts"), n]).fetchall()]
        if found:
            return found
    from etl.generation.writers.reference import read_corpus

    return [r["text"] for r in read_corpus("emotional_story")[:n]]


def tokens_per_word(spec: str, texts: list[str]) -> float:
    from etl.model.load import load
    from etl.model.residuals import tokenize

    tokens = sum(len(ids) for ids in tokenize(load(spec).tokenizer, texts, 100_000))
    return tokens / max(1, sum(len(t.split()) for t in texts))

"""What a writer (local model or Gemini) is asked to write, planned deterministically from the config.

A `Request` is one text to write. Requests are grouped into calls (several texts of one corpus and emotion per
Gemini request; one text per local prompt) and calls into chunks; a chunk's key is the hash of its requests' ids,
and its texts land in one file named after the key. The order is j-major (every emotion's first text, then every
emotion's second...), so raising a count appends chunks and leaves finished ones as they were.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass

from etl import catalog
from etl.errors import EmolakeError
from etl.generation.texts import text_id

log = logging.getLogger("emolake")

# Our own list of first names from many cultures, for the two-speaker dialogues.
SPEAKER_NAMES = (
    "Amara", "Bao", "Carmen", "Dmitri", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Lars",
    "Malik", "Noor", "Olga", "Pedro", "Quynh", "Rosa", "Sanjay", "Tamar", "Umar", "Vera", "Wei", "Ximena",
    "Yusuf", "Zanele", "Aiko", "Bilal", "Chiara", "Diego", "Esi", "Femi", "Greta", "Hamid", "Ingrid", "Jun",
)  # fmt: skip
TOPIC_STEP = 13  # coprime with the 100 topics: an emotion's first 100 texts visit every topic once


class NeedsProbes(EmolakeError):
    """Deflection pairs were asked of expression probes that the lake does not have yet."""


@dataclass(frozen=True)
class Request:
    """One text to write: its corpus, index within its emotion (or corpus), topic and emotions."""

    corpus: str
    index: int
    topic: str
    emotion: str | None = None
    displayed: str | None = None
    partner_emotion: str | None = None
    speakers: tuple[str, str] | None = None

    def fields(self) -> dict[str, str]:
        """The values a prompt template is filled with."""
        names = self.speakers or ("", "")
        return {
            "topic": self.topic,
            "emotion": self.emotion or "",
            "displayed": self.displayed or "",
            "partner_emotion": self.partner_emotion or "",
            "speaker_a": names[0],
            "speaker_b": names[1],
        }

    def id_for(self, source: str, model: str) -> str:
        return text_id(source, model, self.corpus, self.emotion, self.displayed, self.topic, self.index)


@dataclass(frozen=True)
class Chunk:
    """Requests written together to one file per corpus; `calls` groups them into requests to the writer."""

    corpus: str
    key: str
    calls: tuple[tuple[Request, ...], ...]

    @property
    def requests(self) -> list[Request]:
        return [r for call in self.calls for r in call]


@dataclass(frozen=True)
class Pairs:
    """Deflection (target, displayed) candidates: each target's most dissimilar quarter, and where it came from."""

    candidates: dict[str, tuple[str, ...]]
    source: str


def topic_of(emotion: str | None, index: int, salt: int = 0) -> str:
    topics = catalog.topics()
    position = catalog.emotions().index(emotion) if emotion else salt
    return topics[(position * 37 + index * TOPIC_STEP) % len(topics)]


def plan(config, sizes: dict[str, int], pairs: Pairs | None) -> dict[str, list[Request]]:
    """Every request of one writer, by corpus, in j-major order (see the module docstring)."""
    emotions = catalog.select(config.common.emotions)
    seed = config.common.seed
    out: dict[str, list[Request]] = {}
    if sizes["stories_per_emotion"]:
        out["emotional_story"] = [
            Request("emotional_story", j, topic_of(e, j), emotion=e)
            for j in range(sizes["stories_per_emotion"])
            for e in emotions
        ]
    for corpus, size, salt in (("neutral_story", "neutral_stories", 0), ("neutral_dialogue", "neutral_dialogues", 50)):
        if sizes[size]:
            out[corpus] = [Request(corpus, k, topic_of(None, k, salt)) for k in range(sizes[size])]
    if sizes["deflection_per_target"]:
        if pairs is None:
            raise EmolakeError("deflection dialogues were asked for without their emotion pairs")
        targets = deflection_targets(list(pairs.candidates), config.deflection_targets, seed)
        out["deflection_dialogue"] = [
            Request(
                "deflection_dialogue", j, topic_of(t, j), emotion=t, displayed=_pick(pairs.candidates[t], seed, t, j)
            )
            for j in range(sizes["deflection_per_target"])
            for t in targets
        ]
    if sizes["speaker_dialogues"]:
        if len(emotions) < 2:
            raise EmolakeError("two-speaker dialogues need at least 2 emotions: select more emotions")
        n = len(emotions)
        out["speaker_dialogue"] = [
            _speaker_request(emotions[k % n], k // n, emotions, seed) for k in range(sizes["speaker_dialogues"])
        ]
    return out


def chunks(corpus: str, requests: list[Request], per_call: int, calls_per_chunk: int, source: str, model: str):
    """Requests grouped into calls (consecutive texts of one emotion) and calls into keyed chunks."""
    by_emotion: dict[str | None, list[Request]] = {}
    for request in requests:
        by_emotion.setdefault(request.emotion, []).append(request)
    calls = [group[i : i + per_call] for group in by_emotion.values() for i in range(0, len(group), per_call)]
    order = {e: i for i, e in enumerate(by_emotion)}
    calls.sort(key=lambda call: (call[0].index, order[call[0].emotion]))
    out = []
    for start in range(0, len(calls), calls_per_chunk):
        group = tuple(tuple(call) for call in calls[start : start + calls_per_chunk])
        ids = sorted(r.id_for(source, model) for call in group for r in call)
        out.append(Chunk(corpus, hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16], group))
    return out


def derived_seed(seed: int, key: str) -> int:
    """A 32-bit seed for one chunk or call, fixed by the config's seed and the chunk's contents."""
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16)


def deflection_targets(eligible: list[str], count: int, seed: int) -> list[str]:
    """`count` target emotions sampled with the seed, in catalog order."""
    chosen = set(random.Random(f"{seed}:targets").sample(eligible, min(count, len(eligible))))
    return [e for e in catalog.emotions() if e in chosen]


def probe_pairs(lake, model: str, source: str, emotions: tuple[str, ...]) -> Pairs:
    """Each emotion's quarter of least similar emotions by expression-probe cosine at the best layer.

    The layer is `etl.probes.policy.best_layer`'s. Reads the probes through the lake, never through the probes stage.
    """
    import numpy as np

    if not lake.has("probes"):
        raise NeedsProbes(
            "deflection dialogues pick their emotion pairs from expression probes, and the lake has none: run "
            '`make probes` first, or set generate.deflection_pairs = "norms" for the fixed opposite-valence pairs'
        )
    from etl.probes.policy import best_layer
    from etl.probes.stored import layers_of
    from etl.probes.stored import read as read_probes

    if not layers_of(lake, model, source, "expression"):
        raise NeedsProbes(
            f"the lake has no expression probes of model {model} from source {source!r}: run `make probes` for that "
            "model and source, or change generate.deflection_probe_source"
        )
    layer = best_layer(lake, model, source, "expression")
    (stored,) = read_probes(lake, model, source, ["expression"], [layer]).values()
    found = {e: v.astype(np.float64) for e, v in zip(stored.emotions, stored.vectors, strict=True) if e in emotions}
    names = [e for e in emotions if e in found]
    if len(names) < 2:
        raise EmolakeError(f"fewer than 2 of the selected emotions have probes at layer {layer}: run `make probes`")
    x = np.stack([found[e] for e in names])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cosine = x @ x.T
    quarter = max(1, (len(names) - 1) // 4)
    candidates = {}
    for i, emotion in enumerate(names):
        others = [j for j in np.argsort(cosine[i], kind="stable") if j != i]
        candidates[emotion] = tuple(names[j] for j in others[:quarter])
    log.info("generate: deflection pairs from %s probes of %s at layer %d", source, model, layer)
    return Pairs(candidates, f"probes:{source}:layer={layer}")


def norm_pairs(emotions: tuple[str, ...]) -> Pairs:
    """The fixed fallback: each rated emotion's quarter of rated emotions farthest from it in valence, all on the
    other side of the scale's midpoint (Warriner et al. 2013 norms; emotions without a rating are not targets)."""
    norms = catalog.norms()
    rated = [e for e in emotions if e in norms]
    quarter = max(1, (len(rated) - 1) // 4)
    candidates = {}
    for emotion in rated:
        valence = norms[emotion]["valence"]
        opposite = [e for e in rated if (norms[e]["valence"] - 5.0) * (valence - 5.0) < 0]
        opposite.sort(key=lambda e: (-abs(norms[e]["valence"] - valence), e))
        if opposite:
            candidates[emotion] = tuple(opposite[:quarter])
    return Pairs(candidates, "norms:valence")


def _pick(candidates: tuple[str, ...], seed: int, target: str, index: int) -> str:
    return random.Random(f"{seed}:deflection:{target}:{index}").choice(candidates)


def _speaker_request(emotion: str, index: int, emotions: tuple[str, ...], seed: int) -> Request:
    rng = random.Random(f"{seed}:speakers:{emotion}:{index}")
    partner = rng.choice([e for e in emotions if e != emotion])
    first, second = rng.sample(SPEAKER_NAMES, 2)
    names = (first, second)
    return Request(
        "speaker_dialogue", index, topic_of(emotion, index), emotion=emotion, partner_emotion=partner, speakers=names
    )


def build_row(request: Request, text: str, turns: list | None, provenance: dict) -> dict:
    """A `texts` row for one written text; dialogues get canonical `Name: words` text and exact turn spans.

    `turns` are the parsed turns of a dialogue (None: parse `text`, or it did not parse); `provenance` holds
    source, writer_model, prompt_hash, prompt_version, seed, temperature, created_at and, for deflection, pair_source.
    """
    from etl.generation.texts import DIALOGUE_CORPORA, parse_turns, render_dialogue, spans_json

    row = {
        "text_id": request.id_for(provenance["source"], provenance["writer_model"]),
        "corpus": request.corpus,
        "emotion": request.emotion,
        "displayed_emotion": request.displayed,
        "topic": request.topic,
        "text": text.strip(),
        **{k: v for k, v in provenance.items() if k != "pair_source"},
    }
    if request.corpus not in DIALOGUE_CORPORA:
        return row
    turns = turns if turns is not None else parse_turns(text)
    if not turns:
        return row
    row["text"], spans = render_dialogue(turns)
    if request.corpus == "speaker_dialogue":
        names = request.speakers or ("", "")
        speakers = [
            {"name": names[0], "emotion": request.emotion},
            {"name": names[1], "emotion": request.partner_emotion},
        ]
        row["spans"] = spans_json(spans, speakers=speakers)
    elif request.corpus == "deflection_dialogue":
        row["spans"] = spans_json(spans, masking_speaker="Person", pair_source=provenance.get("pair_source"))
    else:
        row["spans"] = spans_json(spans)
    return row

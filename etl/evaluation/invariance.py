"""Invariance: does the default probe set's answer survive changes that carry no emotion?

Each test text is scored as `nearest` scores it, then again after each perturbation in `PERTURBATIONS` (a neutral
prefix or suffix, lower or upper case, punctuation taken away or added). A text keeps its answer when the emotion
families (`catalog.group_of`) of its top-3 emotions are the same set as before. The texts are the shipped everyday
examples (`data/examples/everyday.csv`) and a fixed sample of the source's short texts: at most
`(10 + SHORT_SAMPLE) x (1 + len(PERTURBATIONS))` forward passes (360), whatever the lake's size.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable

import numpy as np

from etl import catalog
from etl.lake import Lake, vectors
from etl.resources import data_dir

SHORT_SAMPLE = 30
"""Short texts drawn (seeded) from the source's `short_text` corpus."""
TOP = 3
"""The answer compared: the families of the top `TOP` emotions."""


def _lead(prefix: str) -> Callable[[str], str]:
    """A neutral opener before the text; a capital that only starts the sentence ("My", "Thank") is lowered, "I" and
    lower-case starts are kept."""

    def apply(text: str) -> str:
        first = text.split(" ", 1)[0]
        if first[:1].isupper() and first[1:2].islower():
            text = text[:1].lower() + text[1:]
        return prefix + text

    return apply


def _no_punctuation(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[.,!?;:]", "", text)).strip()


def _exclaimed(text: str) -> str:
    return re.sub(r"[.!?]*$", "", text.rstrip()) + "!!!"


PERTURBATIONS: dict[str, Callable[[str], str]] = {
    "prefix 'Honestly, '": _lead("Honestly, "),
    "prefix 'So, '": _lead("So, "),
    "suffix ' Anyway.'": lambda text: text + " Anyway.",
    "suffix ' lol'": lambda text: text + " lol",
    "lower case": str.lower,
    "upper case": str.upper,
    "punctuation removed": _no_punctuation,
    "ending '!!!'": _exclaimed,
}
"""Changes a reader would not call emotional; each maps a text to its perturbed form."""


def measure(lake: Lake, model: str, source: str, kind: str, layer: int, seed: int) -> list[dict]:
    """`rows` of one probe set, each text scored as `nearest` scores it (`etl.probes.scoring.mean_vectors`, centred
    on its form, cosine with the unit probes), on the everyday examples and `SHORT_SAMPLE` of the source's short
    texts; [] when the probes record no model."""
    from etl.model.load import load
    from etl.probes.scoring import mean_vectors
    from etl.probes.stored import read_layers

    probes = read_layers(lake, model, source, [kind], [layer])[(kind, layer)]
    if not probes.model_spec:
        return []
    loaded = load(probes.model_spec)
    short = vectors.load(lake, model, layer, ["short_text"], [source], ["text"]).meta
    pairs = [(m["text"], m["emotion"]) for m in short if m.get("emotion")]
    sets = {"everyday": everyday(), "short": sample(pairs, SHORT_SAMPLE, seed)}

    def score(texts: list[str]) -> np.ndarray:
        return probes.project(*mean_vectors(loaded, layer, texts), cosine=True)

    return [{"kind": kind, "layer": layer} | r for r in rows(score, probes.emotions, sets)]


def everyday() -> list[tuple[str, str]]:
    """(text, emotion) of the shipped everyday examples."""
    with (data_dir() / "examples" / "everyday.csv").open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["emotion"]) for row in csv.DictReader(handle)]


def sample(texts: list[tuple[str, str]], n: int, seed: int) -> list[tuple[str, str]]:
    """A fixed sample of n (text, emotion) pairs, in a seeded order."""
    order = np.random.default_rng(seed).permutation(len(texts))[:n]
    return [texts[i] for i in sorted(order.tolist())]


def families(scores: np.ndarray, emotions: list[str]) -> list[frozenset[str]]:
    """Per row of (texts, emotions) scores, the set of families of its `TOP` best emotions (ties: emotion order)."""
    group = catalog.group_of()
    top = np.argsort(-scores, axis=1, kind="stable")[:, :TOP]
    return [frozenset(group.get(emotions[i], emotions[i]) for i in row) for row in top]


def rows(score: Callable[[list[str]], np.ndarray], emotions: list[str], sets: dict[str, list]) -> list[dict]:
    """Per test set and perturbation: the share of texts whose top-3 families (`family_same`) and top emotion
    (`top1_same`) are unchanged, and the share whose labelled emotion's family is among the top-3 families before
    (`family_hit_before`) and after (`family_hit`). `score(texts)` gives (texts, emotions) scores; rows named `all`
    pool every set and perturbation."""
    group = catalog.group_of()
    out, pooled = [], {"same": [], "top1": [], "hit": [], "before": []}
    for name, pairs in sets.items():
        if not pairs:
            continue
        texts = [t for t, _ in pairs]
        wanted = [group.get(label) for _, label in pairs]
        every = texts + [change(t) for change in PERTURBATIONS.values() for t in texts]
        scores = score(every)
        tops = families(scores, emotions)
        firsts = np.argmax(scores, axis=1)
        n = len(texts)
        before = np.array([w in f for w, f in zip(wanted, tops[:n], strict=True)])
        for p, perturbation in enumerate(PERTURBATIONS, start=1):
            block = slice(p * n, (p + 1) * n)
            same = np.array([a == b for a, b in zip(tops[:n], tops[block], strict=True)])
            top1 = firsts[:n] == firsts[block]
            hit = np.array([w in f for w, f in zip(wanted, tops[block], strict=True)])
            out.append(row(name, perturbation, same, top1, hit, before))
            for key, value in (("same", same), ("top1", top1), ("hit", hit), ("before", before)):
                pooled[key].append(value)
    if pooled["same"]:
        out.append(row("all", "all", *(np.concatenate(pooled[k]) for k in ("same", "top1", "hit", "before"))))
    return out


def row(test_set: str, perturbation: str, same, top1, hit, before) -> dict:
    return {
        "test_set": test_set,
        "perturbation": perturbation,
        "n_texts": len(same),
        "family_same": float(np.mean(same)),
        "top1_same": float(np.mean(top1)),
        "family_hit": float(np.mean(hit)),
        "family_hit_before": float(np.mean(before)),
    }

"""Quality filters: each check returns a (reason, detail) pair or None. Rejected rows are kept with the reason.

Checks, in order (the first that fails names the reason):
- `bad_dialogue`: a dialogue that did not parse into turns of its expected speakers (Person/AI, or the two named
  people of a two-speaker dialogue), or whose spans do not point at its turns.
- `not_english`: fewer than 90% of the letters are ASCII, or fewer than `min_english` of the words are common
  English function words ("the", "and", "of"...). English prose runs at 30-55% function words (the reference
  corpus: 31% at least); other languages in Latin script share few of them, and other scripts fail the letter test.
  Simple, cheap and documented; a few accented names do not trip it.
- `too_short` / `too_long`: word counts outside the story or dialogue bounds of the config.
- `names_emotion`: the text contains a forbidden form (word, inflection, derivative: `etl.catalog.forms()`) of an
  emotion it is about (a story's emotion; a dialogue's target, displayed and speakers' emotions).
- `repetitive`: a text that loops (fewer than half of its word 3-grams distinct), as small models do.
- `duplicate` / `near_duplicate`: the same words as, or word-3-gram Jaccard similarity of at least the threshold
  with, a text already kept for the same source and corpus (the whole corpus, earlier runs included). Similarity
  is estimated with MinHash (128 permutations: standard error at most 0.045) and candidates are found with LSH
  (32 bands of 4), so pairs at the threshold are caught with probability ~0.87 and at 0.6 with ~0.99.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass

import numpy as np

from etl.catalog import names_emotion
from etl.generation.texts import ASSISTANT_PAIR, DIALOGUE_CORPORA

WORD = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)*")
LETTER = re.compile(r"[^\W\d_]")
# The most frequent English function words: closed-class words every English paragraph is full of.
FUNCTION_WORD_LIST = """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours out over own same she should so some such than that the their
    theirs them then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself
"""
FUNCTION_WORDS = frozenset(FUNCTION_WORD_LIST.split())
MIN_ASCII_LETTERS = 0.9
MIN_DISTINCT_GRAMS = 0.5
PRIME = (1 << 31) - 1
Rejection = tuple[str, str]


def word_count(text: str) -> int:
    return len(WORD.findall(text))


def normalised(text: str) -> str:
    return " ".join(WORD.findall(text.lower()))


@dataclass(frozen=True)
class Limits:
    """The thresholds of every check (from GenerateConfig)."""

    min_words: int = 40
    max_words: int = 260
    dialogue_min_words: int = 20
    dialogue_max_words: int = 600
    short_min_words: int = 5
    short_max_words: int = 80
    min_english: float = 0.2
    near_duplicate: float = 0.5


def bad_dialogue(row: dict) -> Rejection | None:
    """A dialogue whose spans are missing, point elsewhere, or name other speakers than the expected two."""
    if row.get("corpus") not in DIALOGUE_CORPORA:
        return None
    if not row.get("spans"):
        return "bad_dialogue", "did not parse into `Name: words` turns"
    spans = json.loads(row["spans"])
    turns = spans.get("turns") or []
    expected = [s["name"] for s in spans["speakers"]] if spans.get("speakers") else list(ASSISTANT_PAIR)
    found = [t["speaker"] for t in turns]
    unexpected = sorted(set(found) - set(expected))
    if unexpected:
        return "bad_dialogue", f"unexpected speaker(s) {unexpected}, expected {expected}"
    if set(found) != set(expected) or len(turns) < 2:
        return "bad_dialogue", f"turns {found} do not give each of {expected} a turn"
    text = row["text"]
    for turn in turns:
        label_ok = text[: turn["start"]].endswith(f"{turn['speaker']}: ")
        if not (label_ok and 0 < turn["start"] < turn["end"] <= len(text)):
            return "bad_dialogue", f"span {turn} does not point at a turn of {turn['speaker']}"
    return None


def bad_length(row: dict, limits: Limits) -> Rejection | None:
    n_words = word_count(row.get("text") or "")
    corpus = row.get("corpus")
    if corpus in DIALOGUE_CORPORA:
        low, high = limits.dialogue_min_words, limits.dialogue_max_words
    elif corpus in ("short_text", "neutral_short"):
        low, high = limits.short_min_words, limits.short_max_words
    else:
        low, high = limits.min_words, limits.max_words
    if n_words < low:
        return "too_short", f"{n_words} words < {low}"
    if n_words > high:
        return "too_long", f"{n_words} words > {high}"
    return None


def english_share(text: str) -> tuple[float, float]:
    """(share of letters that are ASCII, share of words that are English function words)."""
    letters = LETTER.findall(text)
    ascii_share = sum(c.isascii() for c in letters) / len(letters) if letters else 0.0
    words = [w.lower() for w in WORD.findall(text)]
    function_share = sum(w in FUNCTION_WORDS for w in words) / len(words) if words else 0.0
    return ascii_share, function_share


def not_english(row: dict, limits: Limits) -> Rejection | None:
    text = row.get("text") or ""
    if not LETTER.search(text):
        return None  # nothing to judge: the length check refuses it
    ascii_share, function_share = english_share(text)
    if ascii_share < MIN_ASCII_LETTERS:
        return "not_english", f"{ascii_share:.0%} of letters are ASCII"
    if function_share < limits.min_english:
        return "not_english", f"{function_share:.0%} English function words < {limits.min_english:.0%}"
    return None


def repetitive(row: dict) -> Rejection | None:
    """A text that loops ("no no no no...", the same line again and again): under half its word 3-grams distinct."""
    words = normalised(row.get("text") or "").split()
    grams = [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
    if len(grams) >= 20 and len(set(grams)) / len(grams) < MIN_DISTINCT_GRAMS:
        return "repetitive", f"{len(set(grams)) / len(grams):.0%} of word 3-grams distinct"
    return None


def row_emotions(row: dict) -> list[str]:
    """The emotions a row is about: its emotion, displayed emotion, and each named speaker's."""
    found = [row.get("emotion"), row.get("displayed_emotion")]
    if row.get("spans"):
        found += [s.get("emotion") for s in json.loads(row["spans"]).get("speakers") or []]
    return [e for e in dict.fromkeys(found) if e]


def names_its_emotion(row: dict) -> Rejection | None:
    if row.get("corpus") in ("neutral_story", "neutral_dialogue", "neutral_short"):
        return None
    for emotion in row_emotions(row):
        form = names_emotion(row.get("text") or "", emotion)
        if form:
            return "names_emotion", f"{form!r} ({emotion})"
    return None


class Duplicates:
    """Exact and near duplicates among the texts kept so far (one index per source and corpus).

    Compact enough for a paper-scale corpus: per text, a 128 x uint32 signature in one growing array, an 8-byte
    digest of its words, and one integer key per LSH band (a band's 4 values hashed to 64 bits; a rare false match
    only adds a candidate, which the signature comparison then rules out).
    """

    def __init__(self, threshold: float = 0.5, permutations: int = 128, bands: int = 32, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, PRIME, permutations, dtype=np.uint64)
        self.b = rng.integers(0, PRIME, permutations, dtype=np.uint64)
        self.mix = rng.integers(1, 1 << 62, permutations // bands, dtype=np.uint64) | np.uint64(1)
        self.threshold, self.bands = threshold, bands
        self.buckets: list[dict[int, int | tuple[int, ...]]] = [{} for _ in range(bands)]
        self.exact: dict[int, int] = {}
        self.ids: list[str] = []
        self.by_id: dict[str, int] = {}
        self.signatures = np.empty((1024, permutations), dtype=np.uint32)

    def __len__(self) -> int:
        return len(self.ids)

    def signature(self, words: list[str]) -> np.ndarray:
        """The MinHash signature of the text's word 3-grams (the whole text if it has fewer than 3 words)."""
        grams = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}
        x = np.array([zlib.crc32(g.encode()) % PRIME for g in grams], dtype=np.uint64)
        return ((np.outer(x, self.a) + self.b) % PRIME).min(axis=0).astype(np.uint32)

    def band_keys(self, signature: np.ndarray) -> list[int]:
        with np.errstate(over="ignore"):  # wrapping uint64 arithmetic is the hash
            return (signature.reshape(self.bands, -1).astype(np.uint64) * self.mix).sum(axis=1).tolist()

    def check(self, text_id: str, text: str, add: bool = True) -> Rejection | None:
        """Whether `text` duplicates a kept text; if not (and `add`), it is kept for later checks."""
        words = normalised(text).split()
        digest = int.from_bytes(hashlib.blake2b(" ".join(words).encode(), digest_size=8).digest(), "little")
        if text_id in self.by_id:
            # The same text under its own id has landed already (a resumed or concurrent run): not a duplicate.
            return None if self.by_id[text_id] == digest else ("duplicate_id", f"{text_id} already holds another text")
        if digest in self.exact:
            return "duplicate", f"same words as {self.ids[self.exact[digest]]}"
        signature = self.signature(words)
        keys = self.band_keys(signature)
        candidates: set[int] = set()
        for bucket, key in zip(self.buckets, keys, strict=True):
            found = bucket.get(key)
            candidates.update(found if isinstance(found, tuple) else () if found is None else (found,))
        for j in sorted(candidates):
            similarity = float(np.mean(self.signatures[j] == signature))
            if similarity >= self.threshold:
                return "near_duplicate", f"~{similarity:.2f} Jaccard with {self.ids[j]}"
        if add:
            self.add(text_id, digest, signature, keys)
        return None

    def add(self, text_id: str, digest: int, signature: np.ndarray, keys: list[int]) -> None:
        position = len(self.ids)
        if position == len(self.signatures):
            self.signatures = np.concatenate([self.signatures, np.empty_like(self.signatures)])
        self.signatures[position] = signature
        self.ids.append(text_id)
        self.by_id[text_id] = digest
        self.exact[digest] = position
        for bucket, key in zip(self.buckets, keys, strict=True):
            found = bucket.get(key)
            bucket[key] = position if found is None else (*(found if isinstance(found, tuple) else (found,)), position)


def reject_reason(row: dict, limits: Limits, duplicates: Duplicates) -> Rejection | None:
    """Why `row` fails the filters (first reason wins), or None; a kept row joins `duplicates`."""
    checks = (bad_dialogue, lambda r: not_english(r, limits), lambda r: bad_length(r, limits), names_its_emotion)
    for check in (*checks, repetitive):
        found = check(row)
        if found:
            return found
    return duplicates.check(row["text_id"], row["text"])


def split_rows(rows: list[dict], limits: Limits, duplicates: Duplicates | None = None) -> tuple[list[dict], list[dict]]:
    """(kept rows, rejected rows with `reason` and `detail`); `duplicates` carries the corpus seen so far."""
    duplicates = duplicates if duplicates is not None else Duplicates(limits.near_duplicate)
    kept, rejected = [], []
    for row in rows:
        found = reject_reason(row, limits, duplicates)
        if found is None:
            kept.append(row)
        else:
            rejected.append({**row, "reason": found[0], "detail": found[1]})
    return kept, rejected

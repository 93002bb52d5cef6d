"""The two writers' settings, held by `GenerateConfig` as `local` and `gemini` (preset tables `[generate.local]` and
`[generate.gemini]`). Each writer has the same five sizes (`WRITER_SIZES`); a size of 0 leaves that corpus out."""

from __future__ import annotations

from dataclasses import dataclass

from etl.config.base import WRITER_SIZES, check_positive
from etl.errors import EmolakeError


def check_sizes(section: str, config) -> None:
    """Every size of a writer is an integer of 0 (leave the corpus out) or more."""
    for size in WRITER_SIZES:
        value = getattr(config, size)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise EmolakeError(f"{section}.{size} = {value!r}: use 0 (leave out) or more")


@dataclass(frozen=True)
class LocalConfig:
    """The probed model writing texts of its own (`local` in `generate.sources`)."""

    stories_per_emotion: int = 3
    """Emotional stories the local model writes per emotion, each on a different topic."""
    neutral_stories: int = 30
    """Neutral stories the local model writes."""
    neutral_dialogues: int = 0
    """Neutral two-speaker dialogues the local model writes."""
    deflection_per_target: int = 0
    """Deflection dialogues per target emotion (see generate.deflection_targets)."""
    speaker_dialogues: int = 0
    """Two-speaker dialogues; the first speaker's emotion cycles through the selected emotions."""
    batch_size: int = 32
    """Prompts sampled together: one padded batch, and one lake file per corpus (the unit of resumption)."""
    max_new_tokens: int = 160
    """Tokens sampled at most per story."""
    dialogue_max_new_tokens: int = 220
    """Tokens sampled at most per dialogue."""

    def __post_init__(self) -> None:
        check_sizes("generate.local", self)
        for name in ("batch_size", "max_new_tokens", "dialogue_max_new_tokens"):
            check_positive(f"generate.local.{name}", getattr(self, name))


@dataclass(frozen=True)
class GeminiConfig:
    """Gemini writing the corpora at paper scale (`gemini` in `generate.sources`; needs GEMINI_API_KEY)."""

    stories_per_emotion: int = 0
    """Emotional stories Gemini writes per emotion (spread evenly over the 100 topics: 1200 = 12 per topic)."""
    neutral_stories: int = 0
    """Neutral stories Gemini writes."""
    neutral_dialogues: int = 0
    """Neutral two-speaker dialogues Gemini writes."""
    deflection_per_target: int = 0
    """Deflection dialogues per target emotion (see generate.deflection_targets)."""
    speaker_dialogues: int = 0
    """Two-speaker dialogues; the first speaker's emotion cycles through the selected emotions."""
    model: str = "gemini-2.5-flash"
    """The Gemini model that writes."""
    stories_per_call: int = 12
    """Stories asked for in one request (structured JSON output)."""
    dialogues_per_call: int = 4
    """Dialogues asked for in one request."""
    concurrency: int = 8
    """Requests in flight at once."""
    max_requests: int = 2000
    """Request budget of one run, retries included; a run that reaches it stops cleanly and a rerun resumes."""
    max_attempts: int = 6
    """Attempts per request on 429, 5xx, timeouts and malformed JSON; then its chunk waits for the next run."""
    backoff_s: float = 2.0
    """First retry delay; it doubles per attempt, with full jitter, up to max_backoff_s."""
    max_backoff_s: float = 60.0
    """Longest retry delay."""
    timeout_s: float = 120.0
    """Time allowed for one request."""
    calls_per_chunk: int = 25
    """Requests whose texts are written to the lake together (the unit of resumption)."""
    base_url: str | None = None
    """Another endpoint (a proxy, or the tests' fake server); None: Google's."""
    api_version: str | None = None
    """API version the client asks for; None: the client's default."""
    thinking_budget: int | None = None
    """Thinking tokens allowed per request on models that think (0 turns thinking off on Flash); None: model default."""

    def __post_init__(self) -> None:
        check_sizes("generate.gemini", self)
        for name in ("stories_per_call", "dialogues_per_call", "concurrency", "max_requests", "max_attempts"):
            check_positive(f"generate.gemini.{name}", getattr(self, name))
        check_positive("generate.gemini.calls_per_chunk", self.calls_per_chunk)
        if not 0.0 <= self.backoff_s <= self.max_backoff_s:
            raise EmolakeError(
                f"generate.gemini.backoff_s ({self.backoff_s}) must be in [0, max_backoff_s ({self.max_backoff_s})]"
            )
        if self.timeout_s <= 0:
            raise EmolakeError(f"generate.gemini.timeout_s = {self.timeout_s}: use a positive number of seconds")
        if not self.model.strip():
            raise EmolakeError('generate.gemini.model is empty: name a Gemini model, e.g. "gemini-2.5-flash"')


@dataclass(frozen=True)
class ImportConfig:
    """A published corpus that the `generate` stage lands (as `emolake import` would) when a source
    `import:NAME` is asked for and the lake holds no import of that name yet (preset table `[generate.imported]`)."""

    dataset: str = ""
    """What to import: a Hugging Face dataset id (`owner/name`, optionally `@revision`; needs `emolake[hub]` and
    hub access) or a local Parquet/JSONL/CSV file or directory. Empty: the stage asks for `emolake import` instead."""
    name: str = "paper"
    """NAME of the source `import:NAME` the rows land under."""

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, str) or not isinstance(self.name, str):
            raise EmolakeError(f"generate.imported = {self!r}: dataset and name are strings")

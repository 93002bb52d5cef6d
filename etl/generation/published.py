"""Published corpora emolake knows, and where an import's input files come from (a local path or the hub).

`ryancodrai/emotion-probes` is the corpus of a replication of the paper on Gemma 4 E4B (CC-BY-4.0): 171 emotions x
100 topics x 12 stories, 1,200 neutral stories and 239,400 deflection dialogues. Its dataset card could not be read
while this was written, so its column names are matched by the candidates of `etl.generation.importing` (which cover
the usual spellings) and can be overridden with `--map`; docs/paper.md says what maps and what does not.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from etl.errors import EmolakeError

READABLE = (".parquet", ".jsonl", ".json", ".csv")
HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<revision>[\w./-]+))?$")


@dataclass(frozen=True)
class PublishedCorpus:
    """What emolake knows of a published corpus before reading it."""

    dataset: str
    name: str
    """Default NAME of its source `import:NAME`."""
    licence: str
    counts: dict[str, int]
    """Texts per corpus, as published (the plan uses them while the corpus is not in the lake)."""
    mean_tokens: dict[str, int]
    """Assumed mean tokens per text per corpus for the plan (the card gives none): our filters' story bounds are
    40-260 words; the paper's stories run a paragraph or two."""
    writer_model: str | None = None
    """The model that wrote the texts, where the dataset states one (a `writer_model`/`model` column wins)."""
    corpus_aliases: dict[str, str] = field(default_factory=dict)


PUBLISHED = {
    "ryancodrai/emotion-probes": PublishedCorpus(
        dataset="ryancodrai/emotion-probes",
        name="paper",
        licence="cc-by-4.0",
        counts={"emotional_story": 205_200, "neutral_story": 1_200, "deflection_dialogue": 239_400},
        mean_tokens={"emotional_story": 260, "neutral_story": 260, "deflection_dialogue": 330},
    )
}


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative: str
    """The file's name inside its origin: part of its key, so a moved copy is still the same input."""

    def digest(self) -> str:
        hasher = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        return hasher.hexdigest()


@dataclass(frozen=True)
class Origin:
    """Where an import reads from, and the provenance every imported row carries."""

    dataset: str
    revision: str
    licence: str | None
    files: tuple[InputFile, ...]
    published: PublishedCorpus | None = None


def resolve(source: str, dataset: str | None = None, revision: str | None = None, licence: str | None = None) -> Origin:
    """The input files of SOURCE (a file, a directory, or a hub dataset id `owner/name[@revision]`).

    `dataset`, `revision` and `licence` state the provenance of a local copy (they default to the path, the files'
    content hash and the licence in a README.md beside them).
    """
    path = Path(source)
    if path.exists():
        files = local_files(path)
        card = (path if path.is_dir() else path.parent) / "README.md"
        name = dataset or str(path)
        known = PUBLISHED.get(name)
        return Origin(
            dataset=name,
            revision=revision or "sha256:" + content_hash(files),
            licence=licence or card_licence(card) or (known.licence if known else None),
            files=files,
            published=known,
        )
    match = HUB_ID.match(source)
    if path.suffix.lower() in READABLE or not match:
        raise EmolakeError(
            f"SOURCE {source!r} is neither an existing file or directory nor a Hugging Face dataset id: "
            "pass a .parquet/.jsonl/.csv file, a directory of them, or owner/name[@revision]"
        )
    return fetch_hub(match["repo"], revision or match["revision"], licence)


def local_files(path: Path) -> tuple[InputFile, ...]:
    if path.is_file():
        if path.suffix.lower() not in READABLE:
            raise EmolakeError(f"cannot read {path}: import reads {', '.join(READABLE)} files")
        return (InputFile(path, path.name),)
    found = sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in READABLE and ".cache" not in p.parts
    )
    if not found:
        raise EmolakeError(f"{path} holds no {'/'.join(READABLE)} file to import: point at the data files")
    return tuple(InputFile(p, str(p.relative_to(path))) for p in found)


def content_hash(files: tuple[InputFile, ...]) -> str:
    return hashlib.sha256("".join(f"{f.relative}:{f.digest()}" for f in files).encode()).hexdigest()[:16]


def card_licence(card: Path) -> str | None:
    """The `license:` of a dataset card's YAML header, if the card is there."""
    if not card.is_file():
        return None
    found = re.search(r"^license:\s*['\"]?([\w.-]+)", card.read_text(errors="replace"), re.MULTILINE)
    return found[1] if found else None


def fetch_hub(repo: str, revision: str | None, licence: str | None) -> Origin:
    """Downloads a hub dataset's data files (cached by huggingface_hub) at a revision pinned to its commit."""
    try:
        from huggingface_hub import HfApi, snapshot_download
    except ImportError as exc:
        raise EmolakeError(
            f"reading {repo} from the hub needs the hub extra: pip install 'emolake[hub]' (or download the files "
            "and pass their directory with --dataset)"
        ) from exc
    try:
        info = HfApi().dataset_info(repo, revision=revision)
        directory = Path(
            snapshot_download(
                repo, repo_type="dataset", revision=info.sha, allow_patterns=[f"*{s}" for s in READABLE] + ["README.md"]
            )
        )
    except Exception as exc:  # the hub client raises many types (network, auth, missing repo): one line for all
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
        raise EmolakeError(
            f"cannot read dataset {repo!r} from the hub ({first}): check the id and hub access, or pass a local copy"
        ) from exc
    card = getattr(info, "card_data", None)
    stated = licence or (getattr(card, "license", None) if card else None) or card_licence(directory / "README.md")
    files = local_files(directory)
    return Origin(dataset=repo, revision=info.sha, licence=stated, files=files, published=PUBLISHED.get(repo))

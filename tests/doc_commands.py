"""The emolake commands shown in README.md and docs/*.md, as the doc-example tests run them."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ".venv/bin/emolake"


@dataclass(frozen=True)
class DocCommand:
    page: str
    line: str
    """The command as written (continuation lines joined)."""
    tokens: tuple[str, ...]
    """Shell words; `|` and `>` are words of their own."""


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def commands(page: Path) -> list[DocCommand]:
    """Every shell command of the page's ```bash blocks that runs `.venv/bin/emolake`."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S):
        pending = ""
        for raw in block.splitlines():
            pending = f"{pending}\n{raw}" if pending else raw
            try:
                lexer = shlex.shlex(pending, posix=True, punctuation_chars="|>")
                lexer.whitespace_split, lexer.commenters = True, "#"
                tokens = tuple(lexer)
            except ValueError:  # a quoted string goes on over the next line
                continue
            if PROGRAM in tokens:
                found.append(DocCommand(str(page.relative_to(ROOT)), pending.strip(), tokens))
            pending = ""
    return found


def all_commands() -> list[DocCommand]:
    return [command for page in pages() for command in commands(page)]

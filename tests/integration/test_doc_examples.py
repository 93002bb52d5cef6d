"""Every `.venv/bin/emolake` command of README.md and docs/*.md runs against a copy of the tiny lake, page by page in
the order a reader would type them, and exits 0. A few are adapted to the tiny lake (ADAPT, each with its reason);
the ones that cannot run here are listed in NOT_RUN with theirs, and a listed command that is no longer in the docs
fails the test, so the lists cannot rot. Whether showcase sentences get the right emotion family is checked with the
bundled model in test_everyday_texts.py."""

from __future__ import annotations

import io
import json
import sys

import pytest
from doc_commands import PROGRAM, all_commands, pages

from etl.lake import Lake, views

pytestmark = pytest.mark.integration

NOT_RUN = {
    ".venv/bin/emolake run all --preset default --model bundled:gemma3-270m": "the optional Gemma package",
    '.venv/bin/emolake steer-sweep --preset default --set steer.readers=["bundled:gemma3-270m"]': "Gemma 3 270M's "
    "probes in the lake (tests/integration/test_steer_tiny.py reads a sweep with a second tiny model)",
    ".venv/bin/emolake steer-sweep --preset default --model bundled:gemma3-270m --set "
    'steer.readers=["bundled:smollm2-135m-instruct"]': "the optional Gemma package",
    ".venv/bin/emolake run generate --preset full": "Gemini: needs an API key and network",
    ".venv/bin/emolake run extract probes --preset full": "Gemini: needs an API key and network",
    ".venv/bin/emolake run all --preset full": "Gemini: needs an API key and network",
    ".venv/bin/emolake import ryancodrai/emotion-probes": "the Hugging Face hub: network (tests/unit/test_import.py "
    "imports a local copy of the same shape)",
    ".venv/bin/emolake import ~/copy --dataset ryancodrai/emotion-probes": "a downloaded copy of the published corpus",
    ".venv/bin/emolake import my.jsonl --name mine --map body=text --corpus emotional_story": "a user's own file",
    ".venv/bin/emolake import ~/emotion-probes --dataset ryancodrai/emotion-probes --revision COMMIT": "a downloaded "
    "copy of the published corpus",
    ".venv/bin/emolake run all --preset paper": "a 4B hub model on a GPU host (its --plan line does run)",
}
ADAPT = {
    "--preset default": ("--preset tiny", "the default preset runs the bundled model for 20 minutes"),
    "--layer 9": ("--layer 1", "the tiny model has 4 layers"),
}


def runnable():
    return [c for c in all_commands() if " ".join(c.tokens) not in NOT_RUN]


def test_the_not_run_list_names_only_commands_in_the_docs():
    assert set(NOT_RUN) <= {" ".join(c.tokens) for c in all_commands()}


def adapted(tokens: list[str], lake, tmp_path, story_id: str) -> list[str]:
    """The words after `emolake`, with the lake, scratch paths and the tiny preset put in."""
    out, words = [], list(tokens)
    for before, (after, _) in ADAPT.items():
        b, a = before.split(" "), after.split(" ")
        words = [a[1] if w == b[1] and i and words[i - 1] == b[0] else w for i, w in enumerate(words)]
    for i, word in enumerate(words):
        if i and words[i - 1] == "--lake":
            word = str(lake)
        elif word.startswith("/tmp/"):
            word = str(tmp_path / word.removeprefix("/tmp/"))
        elif word == "TEXT_ID":
            word = story_id
        out.append(word)
    if words[0] == "steer" and "--preset" not in words:
        out += ["--preset", "tiny"]  # the steer defaults of the bundled preset: see ADAPT
    if "--lake" not in out and "--version" not in out:
        out += ["--lake", str(lake)]
    return out


def run_line(tokens, cli, lake, tmp_path, story_id, monkeypatch):
    """One doc line: optional `printf ... |` feeding stdin, `emolake ARGS`, optional `> FILE`."""
    tokens = list(tokens)
    if tokens[0].startswith("EMOLAKE_LAKE="):
        tokens = tokens[1:]
    if tokens[0] == "printf":
        bar = tokens.index("|")
        monkeypatch.setattr(sys, "stdin", io.StringIO(tokens[1].encode().decode("unicode_escape")))
        tokens = tokens[bar + 1 :]
    target = None
    if ">" in tokens:
        target = tmp_path / tokens[-1].removeprefix("/tmp/")
        tokens = tokens[: tokens.index(">")]
    assert tokens[0] == PROGRAM
    args = adapted(tokens[1:], lake, tmp_path, story_id)
    try:
        code, out, err = cli(*args)
    except SystemExit as done:  # --version
        code, out, err = done.code, "", ""
    if target is not None:
        target.write_text(out)
    return code, out, err, args


@pytest.mark.parametrize("page", [str(p.name) for p in pages()])
def test_every_command_of_a_page_runs_on_the_tiny_lake(page, cli, tiny_lake_copy, tmp_path, monkeypatch):
    monkeypatch.delenv("EMOLAKE_LAKE", raising=False)
    story_id = views.run(Lake(tiny_lake_copy), "select text_id from stories limit 1").column(0)[0].as_py()
    lines = [c for c in runnable() if c.page.endswith(page)]
    for command in lines:
        code, out, err, args = run_line(command.tokens, cli, tiny_lake_copy, tmp_path, story_id, monkeypatch)
        assert code == 0, f"{command.line}\n-> emolake {' '.join(args)}\n{err}"
        if "--json" in args:
            lines_out = out.strip().splitlines()
            for line in lines_out if "--input" in args else [out]:
                json.loads(line)

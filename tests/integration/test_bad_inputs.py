"""Bad input, tried as a careless user and as an attacker would: every case is refused with one line that names the
value (and the fix), a non-zero exit, and a lake whose every file (records included) is byte-for-byte unchanged.

One table covers the CLI, presets and `--set` overrides, input files, and the dashboard's callbacks. The dashboard
cases call the page functions its callbacks call and expect an EmolakeError (a message box), never another exception
(an HTTP 500); long inputs are refused before the model's lock is taken.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_checks import snapshot

from etl.errors import EmolakeError

pytestmark = pytest.mark.integration

LONG_TEXT = "word " * 5000
"""About 5,000 tokens: over the 2,048-token limit of scoring."""
TINY = ["--preset", "tiny"]

CLI_CASES = [
    # nearest, similar, classify: the texts
    ("invalid-unicode", ["nearest", "\udcff\udcfe"], "not valid Unicode"),
    ("empty-text", ["nearest", "   "], "is empty"),
    ("over-token-limit", ["nearest", LONG_TEXT], "pass --truncate"),
    ("over-char-limit", ["nearest", "x" * 100_001], "the limit is 100,000"),
    ("k-zero", ["nearest", "hello there", "--k", "0"], "--k 0"),
    ("layer-missing", ["nearest", "hello there", "--layer", "99"], "--layer 99"),
    ("layer-negative", ["nearest", "hello there", "--layer", "-1"], "--layer -1"),
    ("unknown-kind", ["nearest", "hello there", "--kind", "nosuch"], "no probes of kind 'nosuch'"),
    ("unknown-model", ["nearest", "hello there", "--model", "nosuch"], "no probes for model 'nosuch'"),
    ("unknown-source", ["nearest", "hello there", "--source", "nosuch"], "no probes from source 'nosuch'"),
    ("input-missing", ["nearest", "--input", "{tmp}/absent.txt"], "does not exist"),
    ("similar-long", ["similar", "--text", LONG_TEXT], "pass --truncate"),
    (
        "classify-bad-utf8",
        ["classify", "--input", "{tmp}/bad.csv", "--text-column", "text", "--output", "{tmp}/o.parquet"],
        "invalid utf-8",
    ),
    (
        "classify-long",
        ["classify", "--input", "{tmp}/long.csv", "--text-column", "text", "--output", "{tmp}/o.parquet"],
        "pass --truncate",
    ),
    (
        "classify-column",
        ["classify", "--input", "{tmp}/ok.csv", "--text-column", "body", "--output", "{tmp}/o.parquet"],
        "column 'body' is not in",
    ),
    (
        "classify-output",
        ["classify", "--input", "{tmp}/ok.csv", "--text-column", "text", "--output", "{tmp}"],
        "write to a .parquet",
    ),
    # score: what it would write to the lake
    ("score-long", ["score", "--input", "{tmp}/long.csv", "--text-column", "text"], "the limit is 2048"),
    ("score-bad-utf8", ["score", "--input", "{tmp}/bad.csv", "--text-column", "text"], "invalid utf-8"),
    (
        "score-batch",
        ["score", "--input", "{tmp}/ok.csv", "--text-column", "text", "--batch-tokens", "0"],
        "--batch-tokens 0",
    ),
    ("score-layer", ["score", "--input", "{tmp}/ok.csv", "--text-column", "text", "--layers", "99"], "expression/99"),
    ("score-kind", ["score", "--input", "{tmp}/ok.csv", "--text-column", "text", "--kinds", "nosuch"], "nosuch"),
    ("score-empty-row", ["score", "--input", "{tmp}/blank.csv", "--text-column", "text"], "is empty"),
    # sql: the sandbox
    ("sql-system-file", ["sql", "select * from read_csv('/etc/passwd')"], "refused"),
    ("sql-outside-lake", ["sql", "select * from read_parquet('{tmp}/outside.parquet')"], "refused"),
    ("sql-url", ["sql", "select * from read_parquet('http://127.0.0.1:9/x.parquet')"], "refused"),
    ("sql-install", ["sql", "install httpfs"], "only read-only SELECT"),
    ("sql-write", ["sql", "drop view texts"], "only read-only SELECT"),
    ("sql-two-statements", ["sql", "select 1; select 2"], "one statement at a time"),
    ("sql-timeout", ["sql", "select count(*) from range(10000000000000)", "--timeout", "0.5"], "0.5 s limit"),
    ("sql-settings", ["sql", "select * from texts", "--timeout", "0"], "--timeout 0"),
    ("sql-file-missing", ["sql", "{tmp}/absent.sql"], "does not exist"),
    # steer: validated before the model is loaded or anything is written
    (
        "steer-emotion",
        ["steer", *TINY, "--emotion", "nosuch", "--strength", "1", "--prompt", "hi"],
        "'nosuch' has no probe",
    ),
    ("steer-nan", ["steer", *TINY, "--emotion", "afraid", "--strength", "nan", "--prompt", "hi"], "finite number"),
    ("steer-huge", ["steer", *TINY, "--emotion", "afraid", "--strength", "1e30", "--prompt", "hi"], "finite number"),
    (
        "steer-long-prompt",
        ["steer", *TINY, "--emotion", "afraid", "--strength", "1", "--prompt", "x" * 200_000],
        "limit is 4,000",
    ),
    (
        "steer-layer",
        ["steer", *TINY, "--emotion", "afraid", "--strength", "1", "--prompt", "hi", "--layer", "99"],
        "99",
    ),
    (
        "steer-seed",
        ["steer", *TINY, "--emotion", "afraid", "--strength", "1", "--prompt", "hi", "--seed", "-7"],
        "--seed -7",
    ),
    # presets and overrides: refused before any stage writes
    ("seed-negative", ["run", "probes", *TINY, "--set", "seed=-7"], "seed = -7"),
    ("folds-huge", ["run", "evaluate", *TINY, "--set", "evaluate.folds=1000000"], "evaluate.folds = 1000000"),
    ("one-emotion", ["run", "probes", *TINY, "--set", 'emotions=["afraid"]'], "at least 2 emotions"),
    ("repeated-emotion", ["run", "probes", *TINY, "--set", 'emotions=["afraid", "afraid"]'], "twice"),
    ("unknown-emotion", ["run", "probes", *TINY, "--set", 'emotions=["afraid", "glorp"]'], "glorp"),
    ("skip-negative", ["run", "extract", *TINY, "--set", "extract.skip_tokens=-1"], "extract.skip_tokens = -1"),
    ("max-tokens-zero", ["run", "extract", *TINY, "--set", "extract.max_tokens=0"], "extract.max_tokens = 0"),
    ("unknown-key", ["run", "probes", *TINY, "--set", "probes.nosuch=1"], "unknown key(s) ['nosuch']"),
    ("unknown-preset", ["run", "probes", "--preset", "nosuch"], "unknown preset 'nosuch'"),
    ("broken-preset", ["run", "probes", "--preset", "{tmp}/broken.toml"], "broken.toml"),
    ("unknown-model-spec", ["run", "extract", *TINY, "--model", "bundled:gpt-9"], "unknown bundled model"),
    (
        "validate-label",
        ["validate", "--input", "{tmp}/ok.csv", "--text-column", "text", "--label-column", "mood"],
        "column 'mood'",
    ),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "ok.csv").write_text("text\nhello there how are you\n")
    (folder / "blank.csv").write_text('text\nhello there\n"   "\n')
    (folder / "bad.csv").write_bytes(b"text\n\xff\xfe broken bytes\n")
    (folder / "long.csv").write_text(f"text\n{LONG_TEXT}\n")
    (folder / "labelled.csv").write_text("text,label\nI am so scared of the dark,afraid\nWhat a lovely calm sea,calm\n")
    (folder / "broken.toml").write_text('model = "tiny-random"\n[probes\n')
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"secret": [1]}), folder / "outside.parquet")
    return folder


def filled(args: list[str], folder: Path) -> list[str]:
    return [a.replace("{tmp}", str(folder)) for a in args]


@pytest.mark.parametrize(("args", "fragment"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_a_bad_input_is_refused_in_one_line_and_the_lake_is_unchanged(cli, tiny_lake_copy, inputs, args, fragment):
    before = snapshot(tiny_lake_copy)
    code, _, err = cli("--lake", tiny_lake_copy, *filled(args, inputs))
    assert code == 1, err
    assert err.startswith("error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert fragment in err, err
    assert snapshot(tiny_lake_copy) == before


def test_a_lake_path_that_is_a_file_is_named(cli, inputs):
    for args in (["nearest", "hello"], ["run", "probes", *TINY], ["verify"]):
        code, _, err = cli("--lake", inputs / "ok.csv", *args)
        assert code == 1 and "is a file" in err and len(err.strip().splitlines()) == 1, err


@pytest.fixture
def read_only(monkeypatch):
    """Makes a directory read-only for this process, as a mount or permissions would (tests run as root, which writes
    through any permission bit): opening for writing, creating, renaming or removing under it raises EACCES."""
    import builtins
    import errno

    roots: list[str] = []

    def inside(path) -> bool:
        try:
            text = os.path.abspath(os.fsdecode(path))
        except TypeError:
            return False
        return any(text == r or text.startswith(r + os.sep) for r in roots)

    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir
    real_replace, real_unlink, real_access = os.replace, os.unlink, os.access
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def fake_open(file, mode="r", *args, **kwargs):
        if inside(file) and any(c in mode for c in "wax+"):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def fake_os_open(path, flags, *args, **kwargs):
        if inside(path) and flags & writing:
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def guarded(real):
        def call(path, *args, **kwargs):
            if inside(path) or any(inside(a) for a in args if isinstance(a, (str, Path))):
                refuse(path)
            return real(path, *args, **kwargs)

        return call

    def fake_access(path, mode, *args, **kwargs):
        if inside(path) and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    monkeypatch.setattr(os, "mkdir", guarded(real_mkdir))
    monkeypatch.setattr(os, "replace", guarded(real_replace))
    monkeypatch.setattr(os, "unlink", guarded(real_unlink))
    monkeypatch.setattr(os, "access", fake_access)
    return lambda path: roots.append(os.path.abspath(path))


@pytest.mark.parametrize(
    "args",
    [
        ["run", "probes", *TINY, "--force"],
        ["score", "--input", "{tmp}/ok.csv", "--text-column", "text"],
        ["validate", "--input", "{tmp}/labelled.csv", "--text-column", "text", "--label-column", "label"],
    ],
    ids=["probes", "score", "validate"],
)
def test_a_read_only_lake_is_refused_in_one_line(cli, tiny_lake_copy, inputs, read_only, args):
    before = snapshot(tiny_lake_copy)
    read_only(tiny_lake_copy)
    code, _, err = cli("--lake", tiny_lake_copy, *filled(args, inputs))
    assert code == 1 and "not writable" in err and len(err.strip().splitlines()) == 1, err
    assert snapshot(tiny_lake_copy) == before


def test_steering_on_a_read_only_lake_reads_its_stored_norms_and_writes_nothing(cli, tiny_lake_copy, read_only):
    before = snapshot(tiny_lake_copy)
    read_only(tiny_lake_copy)
    code, out, err = cli("--lake", tiny_lake_copy, "steer", *TINY, "--emotion", "afraid", "--strength", "1",
                         "--prompt", "hi")  # fmt: skip
    assert code == 0 and out, err
    assert snapshot(tiny_lake_copy) == before


def test_a_read_only_lake_can_still_be_read(cli, tiny_lake_copy, read_only):
    read_only(tiny_lake_copy)
    code, out, err = cli("--lake", tiny_lake_copy, "sql", "select count(*) as n from texts")
    assert code == 0 and "n" in out, err


DASHBOARD_CASES = [
    ("steer-layer-text", {"layer": "abc"}, "'abc' is not a whole number"),
    ("steer-strength-text", {"strength": "strong"}, "'strong' is not a number"),
    ("steer-strength-nan", {"strength": "nan"}, "finite number"),
    ("steer-seed-negative", {"seed": -3}, "seed -3"),
    ("steer-emotion", {"emotion": "nosuch"}, "'nosuch' has no probe"),
    ("steer-long-prompt", {"prompt": "x" * 200_000}, "limit is 4,000"),
    ("steer-surrogate", {"prompt": "hi \udcff"}, "not valid Unicode"),
    ("steer-layer-missing", {"layer": 99}, "layer 99 has no"),
]


@pytest.fixture
def dashboard(tiny_lake_copy):
    from dashboards.context import AppContext
    from dashboards.data import LakeReader
    from dashboards.live import LiveScorer
    from etl.lake import Lake

    lake = Lake(tiny_lake_copy)
    return AppContext(LakeReader(lake), LiveScorer(lake))


@pytest.mark.parametrize(("change", "fragment"), [c[1:] for c in DASHBOARD_CASES], ids=[c[0] for c in DASHBOARD_CASES])
def test_a_bad_steering_request_gets_a_message_before_the_model_lock(dashboard, tiny_lake_copy, change, fragment):
    from dashboards.pages import steering

    request = {"layer": 1, "emotion": "afraid", "strength": 0.5, "operator": "add", "prompt": "hi", "seed": 0}
    request |= change
    value = f"{dashboard.models_sources()[0][0]}|{dashboard.models_sources()[0][1]}"
    before = snapshot(tiny_lake_copy)
    dashboard.scorer._lock.acquire()  # a request that reached the lock would hang here: the check must come first
    try:
        with pytest.raises(EmolakeError, match=fragment):
            steering.run_comparison(dashboard, value, **request)
    finally:
        dashboard.scorer._lock.release()
    assert snapshot(tiny_lake_copy) == before


@pytest.mark.parametrize(
    ("text", "layer", "fragment"),
    [
        ("hi \udcff there", 1, "not valid Unicode"),
        ("hello", "abc", "no expression probes"),
        ("x" * 100_001, 1, "characters"),
    ],
    ids=["viewer-surrogate", "viewer-layer-text", "viewer-long"],
)
def test_the_token_viewer_answers_bad_input_with_a_message(dashboard, text, layer, fragment):
    from dashboards.pages import token_viewer

    value = f"{dashboard.models_sources()[0][0]}|{dashboard.models_sources()[0][1]}"
    dashboard.scorer._lock.acquire()
    try:
        with pytest.raises(EmolakeError, match=fragment):
            token_viewer.render(dashboard, text, value, "expression", layer, ["afraid"], None)
    finally:
        dashboard.scorer._lock.release()


def test_the_table_has_at_least_forty_cases():
    assert len(CLI_CASES) + len(DASHBOARD_CASES) + 3 + 3 + 4 >= 40

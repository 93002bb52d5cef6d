"""One home per decision (#20): each default is defined once, and every entry point picks the same probe set."""

import re
from pathlib import Path

import pyarrow as pa
import pytest
from fake_lake import put
from test_dashboard import build_lake

from dashboards.components import probe_controls
from dashboards.context import AppContext
from dashboards.data import LakeReader
from dashboards.live import LiveScorer
from dashboards.pages import compare
from etl.lake import Lake, atomic_path
from etl.probes import policy

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for folder in ("etl", "dashboards") for p in (ROOT / folder).rglob("*.py"))


def definitions(pattern: str) -> list[str]:
    """Files (relative to the repository) with a line matching `pattern`."""
    found = re.compile(pattern, re.M)
    return [str(p.relative_to(ROOT)) for p in SOURCES if found.search(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize(
    ("pattern", "home"),
    [
        (r"^\s*MAX_TOKENS\s*=", "etl/probes/policy.py"),
        (r"^\s*(PROBE_KINDS|KINDS|FORM_KINDS|TOKEN_KINDS)\s*=", "etl/config/kinds.py"),
        (r"^\s*OPERATORS\s*=|\"add\", \"ablate\"|\"add\", \"add_normalised\"", "etl/config/steer.py"),
        (r"^\s*POSITIONS\s*=|\"all\", \"prompt\", \"generated\"", "etl/config/steer.py"),
        (r"n_layers // 3|^STEERING_DEPTH\s*=", "etl/probes/policy.py"),
        (r"^def (default_set|best_layer|best_of|steering_layer)\(", "etl/probes/policy.py"),
    ],
)
def test_each_decision_is_written_once(pattern, home):
    assert definitions(pattern) == [home]


def test_users_import_the_one_definition():
    from etl import config
    from etl.config import kinds
    from etl.evaluation import evidence
    from etl.probes import scoring, stored, token_scores

    assert scoring.MAX_TOKENS is token_scores.MAX_TOKENS is policy.MAX_TOKENS
    assert config.PROBE_KINDS is kinds.PROBE_KINDS and tuple(kinds.KINDS) == kinds.PROBE_KINDS
    assert stored.FORM_KINDS is kinds.FORM_KINDS and evidence.TOKEN_KINDS is kinds.TOKEN_KINDS


def test_the_steering_layer_is_early_to_middle_and_snaps_to_probed_layers():
    assert policy.steering_layer(30) == 12  # SmolLM2
    assert policy.steering_layer(18) == 7  # Gemma 3 270M
    assert policy.steering_layer(30, (9,)) == 9  # a preset's own layer
    assert policy.steering_layer(4, (12,)) == 2  # the preset's layer is past this model's depth
    assert policy.steering_layer(16, None, [0, 3, 9, 13, 15]) == 3  # 0.4 x 16 = 6.4: the nearest probed layer
    assert policy.default_steering_layer(30) == 12  # the default preset's, which `emolake steer` uses
    assert policy.default_steering_layer(18) == 7


def test_one_steering_kind_for_the_cli_the_api_and_the_dashboard():
    import inspect

    from dashboards.pages import steering
    from etl.api import EmoLake
    from etl.config import load_preset

    assert policy.default_steering_kind() == load_preset("default").steer.kinds[0] == "pooled"
    assert policy.steering_kind(["expression", "pooled"]) == "pooled"
    assert policy.steering_kind(["expression"]) == "expression"  # a lake built without pooled probes still steers
    assert steering.KIND == "expression"  # the dashboard reads with expression and steers with steering_kind
    assert "kind_and_layer(" in inspect.getsource(steering.run_comparison)  # the recipe, as `emolake steer`
    assert 'preset_config("default"' in inspect.getsource(steering.steerer_for)  # the API's [steer] table
    assert inspect.signature(EmoLake.steer).parameters["kind"].default is None  # None: steering_kind


def evaluated_lake(root: Path) -> Lake:
    """The dashboard tests' lake, evaluated so that the default set (deflection, 1) is neither the expression kind
    the pickers list first nor the best top-1 layer."""
    lake = build_lake(root)
    rows = [
        {"kind": "expression", "layer": 2, "top1": 0.75, "story_top1": 0.5, "short_top1": 0.0},
        {"kind": "deflection", "layer": 1, "top1": 0.25, "story_top1": 0.5, "short_top1": 0.5},
        {"kind": "deflection", "layer": 2, "top1": 0.5, "story_top1": 0.25, "short_top1": 0.25},
    ]
    rows = [{"n_test": 60, "n_emotions": 6} | row for row in rows]
    path = lake.partition("evaluation_layers", model="tiny-random", source="reference") / "part-0.parquet"
    put(pa.Table.from_pylist(rows), path)
    for kind, layer in (("expression", 2), ("deflection", 1)):
        with atomic_path(lake.faiss_path("tiny-random", "reference", kind, layer)) as tmp:
            tmp.write_bytes(b"index")
    return lake


def test_cli_api_and_dashboard_start_from_the_same_default_set(tmp_path, monkeypatch, cli):
    import emolake

    from etl.probes.scores_dataset import resolve_sets

    lake = evaluated_lake(tmp_path / "lake")
    default = policy.default_set(lake, "tiny-random", "reference")
    assert default == ("deflection", 1) and policy.best_layer(lake, "tiny-random", "reference", "deflection") == 2

    assert resolve_sets(lake, None, "reference", None, None)[2:] == ([default[0]], [default[1]])
    stack = emolake.open(lake.root).probes()
    assert (stack.kind, stack.layers) == (default[0], [default[1]])

    asked = []

    def recording_scorer(lake, model, source, kind, layer):
        asked.append(policy.pick_set(lake, "tiny-random", source, kind, layer))
        raise Asked

    monkeypatch.setattr("etl.probes.scoring.open_scorer", recording_scorer)
    texts = tmp_path / "texts.csv"
    texts.write_text("text\nI am fine.\n")
    classify = ("classify", "--input", texts, "--text-column", "text", "--output", tmp_path / "out.parquet")
    for command in (("nearest", "I am fine."), classify):
        cli("--lake", lake.root, *command)  # stops at the stand-in scorer (exit code 3, an unexpected error)
    with pytest.raises(Asked):
        emolake.open(lake.root).nearest("I am fine.")
    assert asked == [default] * 3

    ctx = AppContext(LakeReader(lake), LiveScorer(lake))
    assert ctx.kinds("tiny-random", "reference")[0] == default[0]
    controls = probe_controls(ctx, "x")
    values = {c.id: c.value for c in walk(controls) if getattr(c, "id", None) in ("x-kind", "x-layer")}
    assert (values["x-kind"], values["x-layer"]) == default


class Asked(Exception):
    """Raised by the stand-in scorer once it has seen what it was asked for."""


def walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        yield from walk(child)


def test_compare_never_opens_on_a_degenerate_source(tmp_path):
    class Reader:
        def has(self, view):
            return view == "best_layers"

        def rows(self, sql, params=None):
            return [{"source": "local"}]

    ctx = AppContext(Reader(), None, source="reference")
    assert compare.initial_source(ctx, ["local", "reference"]) == "reference"
    assert compare.initial_source(ctx, ["gemini", "local"]) == "gemini"
    assert compare.initial_source(ctx, ["local"]) == "local"  # nothing better to show


def test_centre_and_project_is_written_once():
    import numpy as np

    from etl.probes.stored import FormCentre, StoredProbes

    assert definitions(r"centre_for\(") == ["etl/probes/stored.py"]
    vectors = np.eye(3, dtype=np.float32)[:2]
    forms = [
        FormCentre("short", 10.0, np.zeros(3, np.float32)),
        FormCentre("expression", 300.0, np.ones(3, np.float32)),
    ]
    probes = StoredProbes("m", "reference", "expression", 1, ["a", "b"], vectors, None, forms=forms)
    x = np.array([[3.0, 4.0, 0.0], [3.0, 5.0, 1.0]], np.float32)
    # The short text keeps its vector; the story is centred on the stories' centre, (1, 1, 1).
    np.testing.assert_allclose(probes.project(x, [10, 300]), [[3.0, 4.0], [2.0, 4.0]])
    np.testing.assert_allclose(probes.project(x, 10, cosine=True), [[0.6, 0.8], [3 / 35**0.5, 5 / 35**0.5]], rtol=1e-6)

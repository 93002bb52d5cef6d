"""The steering page without a model: its layout, empty states, side-by-side view and sweep chart."""

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
from fake_lake import put

from dashboards.context import AppContext
from dashboards.data import LakeReader
from dashboards.live import LiveScorer
from dashboards.pages import steering
from etl.errors import EmolakeError
from etl.lake import Lake, views
from etl.probes.token_scores import TextScores
from etl.steering.compare import Case, Comparison, Output, Setting

EMOTIONS = ["afraid", "calm", "happy"]
LAYER = 1


def view_columns(view: str) -> list[str]:
    """The columns the staging view selects from its Parquet files (so the fake probes follow the view's changes)."""
    text = (views.SQL_DIR / "staging" / f"{view}.sql").read_text()
    body = text.split("final as (", 1)[1].split("from source", 1)[0].split("select", 1)[1]
    lines = [line.strip().rstrip(",") for line in body.splitlines() if line.strip()]
    return [line.split(" as ")[-1] for line in lines]


def probes_lake(root) -> Lake:
    """Unit probes of three emotions at one layer, with every column the `probes` view reads (placeholders)."""
    lake = Lake(root)
    n = len(EMOTIONS)
    columns = {name: [None] * n for name in view_columns("probes") if name not in ("model", "source", "kind", "layer")}
    columns.update(
        emotion=EMOTIONS,
        vector=pa.array(np.eye(3, 4, dtype=np.float32).tolist(), pa.list_(pa.float32(), 4)),
        model_spec=["tiny-random"] * n,
        created_at=["2026-01-01T00:00:00"] * n,
    )
    part = lake.partition("probes", model="tiny-random", source="reference", kind="expression", layer=LAYER)
    put(pa.table(columns), part / "part-0.parquet")
    return lake


def sweep_rows(n: int = 6) -> list[dict]:
    rows = []
    for i in range(n):
        emotion, strength = EMOTIONS[i % 2], [0.1, 0.3][i // 3 % 2]
        rows.append(
            {
                "run_id": str(i),
                "emotion": emotion,
                "layer": LAYER,
                "strength": strength,
                "operator": "add",
                "positions": "all",
                "prompt": "p",
                "seed": i,
                "baseline": "a",
                "steered": "b",
                "target_delta": float(i % 3 - 1),
                "perplexity_ratio": 1.0 + i,
                "repetition_rate": 0.0,
                "baseline_repetition": 0.0,
                "regime": "surgical" if i < 3 else "explosive",
                "success": i % 3 == 2 and i < 3,
                "probe_emotions": EMOTIONS,
                "baseline_scores": [0.0, 0.0, 0.0],
                "steered_scores": [float(i % 3 - 1), 0.5, -0.5],
                "kind": "expression",
                "judges": ["nrc_lexicon", "tfidf_family"],
                "judge_labels": ["fear", "fear"],
                "judge_baseline": [0.0, 0.0],
                "judge_steered": [0.1, float(i % 2)],
                "judge_opposite_baseline": [0.0, 0.0],
                "judge_opposite_steered": [0.0, 0.0],
                "judge_agrees": [True, i % 2 == 1],
                "judged_success": i < 3 and i % 2 == 1,
                "created_at": datetime.now(UTC).isoformat(),
            }
        )
    return rows


def write_sweep(lake: Lake) -> None:
    from etl.lake.schemas import STEERING_RUNS as RUNS_SCHEMA
    from etl.stages.steer import rates_table

    rows = [{name: row.get(name) for name in RUNS_SCHEMA.names} for row in sweep_rows()]
    put(
        pa.Table.from_pylist(rows, schema=RUNS_SCHEMA),
        lake.partition("steering_runs", model="tiny-random", sweep="tiny") / "part-0.parquet",
    )
    put(
        rates_table(rows, seed=0, started=datetime.now(UTC)),
        lake.partition("steering_judged", model="tiny-random", sweep="tiny") / "part-0.parquet",
    )


def context(lake: Lake) -> AppContext:
    return AppContext(LakeReader(lake), LiveScorer(lake))


def output(text: str, values: list[float]) -> Output:
    words = text.split()
    offsets, cursor = [], 0
    for word in words:
        start = text.index(word, cursor)
        offsets.append((start, start + len(word)))
        cursor = start + len(word)
    scores = np.array([[v, 0.0, -v] for v in values], dtype=np.float32)
    trace = TextScores(words, offsets, {("expression", LAYER): scores}, {("expression", LAYER): EMOTIONS})
    return Output(text, list(range(len(words))), scores.mean(axis=0), trace, perplexity=3.0, repetition=0.0)


def comparison() -> Comparison:
    baseline = output("the train was late", [0.1, 0.2, 0.0, 0.1])
    steered = output("the dark train was late again", [0.5, 0.9, 0.4, 0.3, 0.8, 0.6])
    delta = float(steered.scores[0] - baseline.scores[0])
    return Comparison(
        Setting("afraid", LAYER, 0.2), Case("p", 0), baseline, steered, EMOTIONS, delta, 1.2, "surgical", True
    )


def test_layout_without_a_sweep_names_make_steer(tmp_path):
    page = str(steering.layout(context(probes_lake(tmp_path / "lake"))))
    assert "make steer" in page and "st-strength" in page and "st-emotion" in page


def test_layout_without_probes_names_make_probes(tmp_path):
    lake = Lake(tmp_path / "lake")
    (tmp_path / "lake").mkdir()
    assert "make probes" in str(steering.layout(context(lake)))


def test_sweep_card_draws_judged_success_per_kind_and_the_best_setting_per_emotion(tmp_path):
    from dashboards.pages import steering_sweep

    lake = probes_lake(tmp_path / "lake")
    write_sweep(lake)
    ctx = context(lake)
    rows = steering_sweep.summary_rows(ctx, "tiny-random", "tiny")
    assert {(r["emotion"], r["strength"]) for r in rows} == {
        ("afraid", 0.1),
        ("calm", 0.1),
        ("afraid", 0.3),
        ("calm", 0.3),
    }
    figure = steering_sweep.curve_figure(rows)
    assert [t.name for t in figure.data] == ["expression", "expression surgical"]
    # judged success at 0.1: afraid 0 of 2, calm 1 of 1 (mean over emotions 0.5); at 0.3 none; surgical: all, then none
    assert list(figure.data[0].y) == pytest.approx([0.5, 0.0]) and list(figure.data[1].y) == pytest.approx([1.0, 0.0])
    assert figure.data[1].line.dash == "dot" and figure.data[0].line.color == figure.data[1].line.color
    best = {r["emotion"]: r for r in steering_sweep.best_table(ctx, "tiny-random", "tiny").data}
    assert best["calm"]["strength"] == 0.1 and best["calm"]["judged"] == "1.00 [1.00, 1.00]"
    assert best["afraid"]["strength"] == 0.1 and best["afraid"]["judged"].startswith("0.00")
    assert "expression 0.17" in steering_sweep.controls_line(ctx, "tiny-random", "tiny")  # 1 of 6 runs
    page = str(steering.layout(ctx))
    assert "st-sweep" in page and "st-best" in page and "st-controls" in page and "6 paired runs" in page
    assert steering_sweep.model_readers(ctx, "tiny-random", "tiny") == [] and "st-reader-0" not in page


def test_another_models_reading_gets_its_own_line(tmp_path):
    from dashboards.pages import steering_sweep
    from etl.lake.schemas import STEERING_JUDGED
    from etl.stages.steer import rates_table

    lake = probes_lake(tmp_path / "lake")
    rows = sweep_rows()
    for i, row in enumerate(rows):  # the other model reads the target rise in the first two runs
        for key, value in (("judges", "model:other"), ("judge_labels", "afraid"), ("judge_agrees", i < 2)):
            row[key] = [*row[key], value]
        for key, value in (("judge_baseline", 0.0), ("judge_steered", 0.1 if i < 2 else -0.1)):
            row[key] = [*row[key], value]
        row["judge_opposite_baseline"] = row["judge_opposite_steered"] = [0.0, 0.0, 0.0]
        row["control"] = False
    table = rates_table(rows, seed=0, started=datetime.now(UTC))
    assert table.schema == STEERING_JUDGED
    put(table, lake.partition("steering_judged", model="tiny-random", sweep="tiny") / "part-0.parquet")
    ctx = context(lake)
    assert steering_sweep.model_readers(ctx, "tiny-random", "tiny") == ["model:other"]
    line = steering_sweep.controls_line(ctx, "tiny-random", "tiny", "model:other")
    assert line.startswith("Read by other's probes") and "expression 0.33" in line  # 2 of 6 runs, both surgical


def test_comparison_view_shows_both_texts_the_verdict_and_the_traces():
    readings = {
        "nrc_lexicon": {"label": "fear", "baseline": 0.0, "steered": 0.125, "agrees": True},
        "tfidf_family": {"label": "fear", "baseline": None, "steered": None, "agrees": False},
    }
    judges = steering.judges_view(comparison(), readings, judged=False)
    view = steering.comparison_view(comparison(), LAYER, judges)
    text = str(view)
    assert "st-baseline-text" in text and "st-steered-text" in text and "regime: surgical" in text
    cells = [[str(cell.children) for cell in row.children] for row in judges.children[0].children[1:]]
    assert cells[0] == ["nrc_lexicon", "fear", "+0.000", "+0.125", "yes"]
    assert cells[1] == ["tfidf_family", "fear", "-", "-", "no"]
    assert cells[2][0] == "own probe (the steered model)" and cells[2][4] == "yes"
    assert "no judged success" in text and "st-judges" in text
    figure = steering.trace_figure(comparison(), LAYER)
    assert [t.name for t in figure.data] == ["baseline", "steered"]
    np.testing.assert_allclose(figure.data[1].y, [0.5, 0.9, 0.4, 0.3, 0.8, 0.6], rtol=1e-6)


def test_empty_output_renders_without_a_trace():
    result = comparison()
    result.steered = Output("", [], np.full(3, np.nan, np.float32), None, 1.0, 0.0)
    assert "(empty output)" in str(steering.comparison_view(result, LAYER))
    assert [t.name for t in steering.trace_figure(result, LAYER).data] == ["baseline"]


def test_steering_asks_for_a_prompt_and_an_emotion(tmp_path):
    ctx = context(probes_lake(tmp_path / "lake"))
    with pytest.raises(EmolakeError, match="write a prompt"):
        steering.run_comparison(ctx, "tiny-random|reference", LAYER, "afraid", 0.2, "add", "  ", 0)
    with pytest.raises(EmolakeError, match="pick a layer and an emotion"):
        steering.run_comparison(ctx, "tiny-random|reference", LAYER, None, 0.2, "add", "hello", 0)
    assert steering.emotion_options(ctx, "tiny-random|reference", LAYER) == EMOTIONS


def test_page_defaults_to_the_layer_the_cli_steers():
    from etl.config import load_preset
    from etl.probes.policy import steering_layer

    assert steering.default_layer(list(range(30))) == steering_layer(30, load_preset("default").steer.layers) == 12
    assert steering.default_layer([0, 3, 9, 13, 15]) == 3  # 0.4 x 16 = 6.4: the nearest layer with probes
    assert steering.default_layer([0, 1, 2, 3]) == 2  # 0.4 of the depth


def test_the_page_steers_with_the_recipe_kind_and_refuses_a_layer_without_it(tmp_path):
    from types import SimpleNamespace

    from etl.config import load_preset
    from etl.steering.recipe import kind_and_layer

    lake = probes_lake(tmp_path / "lake")
    loaded = SimpleNamespace(slug="tiny-random", n_layers=4)
    config = load_preset("default", lake=lake.root, model="tiny-random").steer
    assert kind_and_layer(lake, loaded, config) == ("expression", LAYER)  # no pooled probes: the story probes steer
    assert kind_and_layer(lake, loaded, config, layer=LAYER) == ("expression", LAYER)
    with pytest.raises(EmolakeError, match=r"layer 2 has no expression probes of tiny-random: use one of \[1\]"):
        kind_and_layer(lake, loaded, config, layer=2)

"""The HTML report, built from synthetic evaluation tables in a temporary lake (no model)."""

import numpy as np
import pytest
from fake_lake import put

from etl import catalog
from etl.errors import EmolakeError
from etl.evaluation import geometry, tables
from etl.lake import Lake
from etl.report import html, write_report

MODEL = "toy-model"
EMOTIONS = ["afraid", "calm", "happy", "sad", "proud", "angry", "at ease"]


def write(lake: Lake, name: str, rows: list[dict], source: str = "reference") -> None:
    put(tables.from_rows(name, rows), lake.partition(name, model=MODEL, source=source) / "part-0.parquet")


def layer_rows(kinds=("expression",)) -> list[dict]:
    rows = []
    for kind in kinds:
        for layer in range(4):
            row = {"layer": layer, "kind": kind, "top1": 0.1 * layer, "top5": 0.2 + 0.1 * layer}
            row |= {"chance_top1": 1 / 7, "pc1_valence_r": 0.2 * layer, "pc2_arousal_r": 0.1}
            row |= {"pc1_var": 0.3, "pc2_var": 0.1}
            if kind == "deflection":
                row |= {"matched_cosine": 0.05, "unmatched_abs_cosine": 0.02, "norm_kept": 0.8, "n_pairs": 3}
            rows.append(row)
    return rows


@pytest.fixture
def lake(tmp_path):
    lake = Lake(tmp_path / "lake")
    write(lake, "evaluation_layers", layer_rows())
    vectors = np.random.default_rng(0).normal(size=(len(EMOTIONS), 8))
    labels = geometry.clusters(vectors, 3, seed=0)
    write(
        lake,
        "probe_map",
        [{"kind": "expression", "layer": 3} | r for r in geometry.map_rows(vectors, EMOTIONS, labels)],
    )
    block = [("expression", 3, EMOTIONS, geometry.cosine_matrix(vectors))]
    put(
        tables.cosine_table(block),
        lake.partition("evaluation_cosines", model=MODEL, source="reference") / "part-0.parquet",
    )
    return lake


def add_model_checks(lake: Lake) -> None:
    dose = [
        {"template": "t", "dose_index": i, "dose": str(10**i), "kind": "expression", "layer": 3}
        | {"emotion": e, "score_mean": i * (1 if e == "afraid" else -1), "score_last": 0.0}
        for i in range(5)
        for e in ("afraid", "calm")
    ]
    write(lake, "dose_curve", dose)
    scenario = [
        {"scenario": f"s-{t}", "target": t, "kind": "expression", "layer": 3, "emotion": e}
        | {"score": 1.0 if e == t else 0.0, "rank": 1 if e == t else 2}
        for t in ("afraid", "calm")
        for e in EMOTIONS
    ]
    write(lake, "scenario_scores", scenario)
    lens = [
        {"kind": "expression", "layer": 3, "emotion": "afraid", "end": end, "rank": 1, "token_id": 5}
        | {"token": "<script>", "logit": 1.0}
        for end in ("top", "bottom")
    ]
    write(lake, "logit_lens", lens)


def test_report_has_every_figure_as_png_and_svg(lake):
    add_model_checks(lake)
    path = write_report(lake, MODEL)
    assert path == lake.report_dir(MODEL) / "report.html"
    page = path.read_text()
    for stem in ("layer_curve", "emotion_map", "similarity_matrix", "dose_curve", "scenario_matrix"):
        assert f'src="{stem}.png"' in page and f'href="{stem}.svg"' in page
        assert (path.parent / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (path.parent / f"{stem}.svg").read_bytes()[:2000]
    assert "best layer" in page and '<td class="num">3</td>' in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "No deflection probes in the lake" in page
    assert not list(path.parent.glob(".tmp-*"))


def test_report_without_model_checks_says_so_and_still_shows_geometry_and_clusters(lake):
    page = write_report(lake, MODEL).read_text()
    assert "Not computed (model checks were off)" in page
    assert "emotion_map.png" in page and "dose_curve.png" not in page
    members = page[page.index("<th>members</th>") :]
    assert all(emotion in members for emotion in EMOTIONS)


def test_report_shows_deflection_when_present(lake):
    write(lake, "evaluation_layers", layer_rows(("expression", "deflection")))
    page = write_report(lake, MODEL).read_text()
    assert 'src="deflection.png"' in page and "0.050" in page and "0.800" in page


def test_report_refuses_a_lake_without_evaluation(tmp_path):
    with pytest.raises(EmolakeError, match="make evaluate"):
        write_report(Lake(tmp_path), MODEL)


def test_html_escapes_and_formats():
    cell = html.table(["a<b"], [["x&y"], [0.12345], [None]], numeric={0})
    assert "a&lt;b" in cell and "x&amp;y" in cell and "0.123" in cell and "n/a" in cell
    assert all(e in catalog.emotions() for e in EMOTIONS)

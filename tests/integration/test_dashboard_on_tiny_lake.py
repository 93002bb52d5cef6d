"""Dashboard pages over a lake built by the real stages (the tiny preset), not a hand-made one."""

import pytest

from dashboards.context import AppContext
from dashboards.data import LakeReader
from dashboards.live import LiveScorer
from dashboards.pages import probe_quality
from etl.lake import Lake

pytestmark = pytest.mark.integration


def test_probe_quality_curves_plot_every_column_for_every_source(tiny_lake):
    lake = Lake(tiny_lake)
    graph = probe_quality.curves(AppContext(LakeReader(lake), LiveScorer(lake)), "tiny-random", "expression", 1)
    curves = [trace for trace in graph.figure.data if trace.legendgroup not in ("curve", "source")]
    assert {trace.name for trace in curves} == {f"reference {column}" for column, *_ in probe_quality.CURVES}
    legend = {trace.name for trace in graph.figure.data if trace.showlegend is not False}
    assert legend == {column for column, *_ in probe_quality.CURVES} | {"reference"}  # one entry per style, per source
    stability = next(t for t in graph.figure.data if t.name == "reference split_half_cos")
    assert len(stability.y) == 4 and all(-1 <= y <= 1 for y in stability.y)

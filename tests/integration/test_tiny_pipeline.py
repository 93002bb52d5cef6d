"""The whole `tiny` preset through every stage, and the CLI on the lake it builds."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from etl import runner
from etl.config import load_preset
from etl.lake import Lake, views

pytestmark = pytest.mark.integration


def test_every_stage_wrote_its_dataset(tiny_lake):
    lake = Lake(tiny_lake)
    counts = dict(views.run(lake, "select corpus, count(*) from texts group by all").to_pylist()[0].items())
    assert counts
    n_texts = views.run(lake, "select count(*) as n from texts").column("n")[0].as_py()
    n_vectors = views.run(lake, "select count(distinct text_id) as n from activations where layer = 0")
    n_vectors = n_vectors.column("n")[0].as_py()
    assert n_texts == n_vectors > 0
    layers = views.run(lake, "select distinct layer from probes order by 1").column("layer").to_pylist()
    assert layers == [0, 1, 2, 3]
    evaluated = views.run(
        lake, "select layer, top1, top5, pc1_valence_r from evaluation_layers where kind = 'expression' order by layer"
    ).to_pylist()
    assert [r["layer"] for r in evaluated] == [0, 1, 2, 3]
    assert all(0 <= r["top1"] <= r["top5"] <= 1 for r in evaluated)
    stability = views.run(lake, "select split_half_cos from evaluation_layers where kind = 'expression'")
    assert all(-1 <= c <= 1 for c in stability.column("split_half_cos").to_pylist())
    index = Lake(tiny_lake)
    for layer in range(4):  # each committed, and the file that holds it matches its recorded checksum
        assert index.verified(index.faiss_path("tiny-random", "reference", "expression", layer)).stat().st_size
        assert index.verified(index.story_index_path("tiny-random", "reference", "expression", layer)).exists()


def test_probes_are_unit_vectors_one_per_emotion(tiny_lake):
    table = views.run(Lake(tiny_lake), "select layer, emotion, vector from probes")
    vectors = np.array(table.column("vector").to_pylist())
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    per_layer = views.run(Lake(tiny_lake), "select layer, count(distinct emotion) as n from probes group by 1")
    assert set(per_layer.column("n").to_pylist()) == {6}


def test_a_second_run_skips_every_stage(tiny_lake_copy):
    preset = load_preset("tiny", lake=tiny_lake_copy)
    before = sorted(p.name for p in (tiny_lake_copy / "manifest").rglob("*.parquet"))
    assert all(runner.execute(stage, preset) is None for stage in runner.STAGES)
    assert sorted(p.name for p in (tiny_lake_copy / "manifest").rglob("*.parquet")) == before


def test_nearest_and_classify(cli, tiny_lake, tmp_path):
    code, out, _ = cli("--lake", tiny_lake, "nearest", "The storm took the roof and we ran.", "--json", "--k", "3")
    assert code == 0
    matches = json.loads(out)
    assert len(matches) == 3 and [m["score"] for m in matches] == sorted((m["score"] for m in matches), reverse=True)
    source = tmp_path / "in.csv"
    source.write_text('id,body\n1,"First text, here."\n2,Second text\n3,Third one\n')
    output = tmp_path / "out.parquet"
    code, _, _ = cli(
        "--lake",
        tiny_lake,
        "classify",
        "--input",
        source,
        "--text-column",
        "body",
        "--output",
        output,
        "--k",
        "171",
        "--batch-size",
        "2",
    )
    assert code == 0
    rows = pq.read_table(output).to_pylist()
    assert [r["row_id"] for r in rows] == [0, 1, 2]
    assert all(len(r["emotions"]) == 6 == len(set(r["emotions"])) for r in rows)


def test_sql_cli_formats(cli, tiny_lake):
    code, out, _ = cli("--lake", tiny_lake, "sql", "select count(distinct emotion) as n from probes", "--format", "csv")
    assert (code, out.strip()) == (0, "n\n6")
    code, out, _ = cli("--lake", tiny_lake, "sql", "--list")
    assert code == 0 and "evaluation_layers:" in out and "top1 DOUBLE" in out
    code, out, _ = cli("--lake", tiny_lake, "sql", "sql/queries/layer_curve.sql", "--format", "json")
    assert code == 0 and [r["layer"] for r in json.loads(out) if r["kind"] == "expression"] == [0, 1, 2, 3]


def test_every_generated_text_traces_back_to_its_prompt_template(tiny_lake):
    untraced = views.run(
        Lake(tiny_lake),
        """
        select t.source, t.corpus, count(*) as n
        from texts as t
        left join prompts as p using (prompt_hash, corpus)
        where p.template is null
        group by all
        """,
    ).to_pylist()
    assert untraced == []
    templates = views.run(Lake(tiny_lake), "select source, corpus, template from prompts").to_pylist()
    assert templates and all(row["template"].strip() for row in templates)


def test_summary_lists_what_the_lake_holds_with_expression_first(cli, tiny_lake):
    code, out, _ = cli("--lake", tiny_lake, "summary")
    assert code == 0
    probe_lines = [line.split()[0] for line in out.splitlines() if "probes (reference)" in line]
    assert probe_lines[0] == "expression" and set(probe_lines) == {
        "expression",
        "deflection",
        "present_speaker",
        "other_speaker",
        "short",
        "prompted",
        "pooled",
    }
    assert "default probe set of tiny-random" in out and "PC1 vs valence r" in out
    nested = [line for line in out.splitlines() if line.strip().startswith("nested")]
    assert len(nested) == 1 and "stories" in nested[0] and "short texts" in nested[0]
    best = [line for line in out.splitlines() if line.strip().startswith("best expression layer tiny-random/reference")]
    assert len(best) == 1 and "split-half cos" in best[0]
    assert "stage time (s), each stage's latest run: generate" in out

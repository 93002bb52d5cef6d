"""The evaluate stage on the tiny lake: every table and view it fills, with and without deflection probes."""

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from etl.config import load_preset
from etl.lake import Lake, views
from etl.lake.schemas import PROBES, fixed_vectors
from etl.model.load import load
from etl.stages import evaluate

pytestmark = pytest.mark.integration

MODEL = "tiny-random"


def sql(lake_dir, text: str) -> list[dict]:
    return views.run(Lake(lake_dir), text).to_pylist()


def probe_counts(lake_dir) -> dict[tuple[str, int], int]:
    rows = sql(lake_dir, "select kind, layer, count(*) as n from probes group by all")
    return {(r["kind"], r["layer"]): r["n"] for r in rows}


def run_evaluate(lake_dir, **changes):
    config = dataclasses.replace(load_preset("tiny", lake=lake_dir).evaluate, **changes)
    return evaluate.run(config)


def test_one_evaluation_row_per_probe_set_of_every_kind(tiny_lake):
    rows = sql(tiny_lake, "select * from evaluation_layers")
    assert {(r["kind"], r["layer"]) for r in rows} == set(probe_counts(tiny_lake))
    assert "expression" in {r["kind"] for r in rows}
    for row in rows:
        assert row["pc1_var"] >= row["pc2_var"] > 0
        if row["top1"] is not None:
            assert 0 <= row["top1"] <= row["top5"] <= 1 and row["n_test"] > 0
    expression = [r for r in rows if r["kind"] == "expression"]
    assert all(r["pc1_valence_r"] is not None and r["scenario_diagonal"] is not None for r in expression)
    assert all(r["n_scenarios"] == 6 for r in expression)


def test_probe_map_has_the_dashboard_columns_and_one_row_per_probe(tiny_lake):
    catalog = views.connect(Lake(tiny_lake))
    columns = [c[0] for c in catalog.con.execute("describe probe_map").fetchall()]
    assert columns == ["model", "source", "kind", "layer", "emotion", "pc1", "pc2", "valence", "arousal", "cluster"]
    rows = sql(tiny_lake, "select kind, layer, count(*) as n, max(cluster) as top from probe_map group by all")
    assert {(r["kind"], r["layer"]): r["n"] for r in rows} == probe_counts(tiny_lake)
    assert all(r["top"] < 3 for r in rows)  # tiny preset: clusters = 3
    clusters = sql(tiny_lake, "select sum(size) as n from probe_clusters")[0]["n"]
    assert clusters == sum(probe_counts(tiny_lake).values())


def test_cosines_are_those_of_the_probe_vectors(tiny_lake):
    probes = sql(tiny_lake, "select emotion, vector from probes where kind = 'expression' and layer = 2 order by 1")
    vectors = np.array([p["vector"] for p in probes])
    cosines = sql(
        tiny_lake,
        "select emotion_a, emotion_b, cosine from evaluation_cosines where kind = 'expression' and layer = 2",
    )
    position = {p["emotion"]: i for i, p in enumerate(probes)}
    assert len(cosines) == len(probes) ** 2
    for row in cosines:
        expected = vectors[position[row["emotion_a"]]] @ vectors[position[row["emotion_b"]]]
        assert row["cosine"] == pytest.approx(expected, abs=1e-5)


def test_logit_lens_ranks_tokens_by_their_gain_scaled_logit_relative_to_the_other_probes(tiny_lake):
    loaded = load(MODEL)
    probes = sql(tiny_lake, "select emotion, vector from probes where kind = 'expression' and layer = 3 order by 1")
    gain = loaded.model.model.norm.weight.detach().numpy()
    unembedding = loaded.model.get_output_embeddings().weight.detach().numpy()
    logits = (gain * np.array([p["vector"] for p in probes])) @ unembedding.T
    relative = (logits - logits.mean(axis=0)) / logits.std(axis=0)
    sad = [p["emotion"] for p in probes].index("sad")
    ids = sql(
        tiny_lake,
        "select token_id, \"end\" from evaluation_logit_lens where kind = 'expression' and layer = 3 "
        'and emotion = \'sad\' and "rank" = 1 order by "end"',
    )
    assert {r["end"]: r["token_id"] for r in ids} == {
        "top": int(relative[sad].argmax()),
        "bottom": int(relative[sad].argmin()),
    }
    lens = sql(tiny_lake, "select * from logit_lens where kind = 'expression' and layer = 3 and emotion = 'sad'")[0]
    assert len(lens["top_tokens"]) == len(lens["bottom_tokens"]) == 5  # tiny preset: lens_tokens = 5
    assert lens["top_relative"] == sorted(lens["top_relative"], reverse=True)
    n_rows = sql(tiny_lake, "select count(*) as n from evaluation_logit_lens")[0]["n"]
    assert n_rows == sum(probe_counts(tiny_lake).values()) * 2 * 5


def test_dose_curve_covers_each_template_dose_and_layer_for_afraid_and_calm(tiny_lake):
    from etl.evaluation.dose import TEMPLATES, render
    from etl.probes.stored import read_layers
    from etl.probes.token_scores import score_texts

    rows = sql(tiny_lake, "select * from dose_curve where kind = 'expression'")
    n_doses = sum(len(t.doses) for t in TEMPLATES)
    assert len(rows) == n_doses * 4 * 2
    assert {r["emotion"] for r in rows} == {"afraid", "calm"}
    loaded = load(MODEL)
    template = TEMPLATES[0]
    prompt, _ = render(loaded.tokenizer, template, template.doses[3])
    probes = read_layers(Lake(tiny_lake), MODEL, "reference", ["expression"], [2])
    (scored,) = score_texts(loaded, [prompt], probes)
    afraid = probes[("expression", 2)].emotions.index("afraid")
    (row,) = [
        r for r in rows if (r["template"], r["dose_index"], r["layer"], r["emotion"]) == (template.name, 3, 2, "afraid")
    ]
    assert row["score_last"] == pytest.approx(float(scored.scores[("expression", 2)][-1, afraid]), abs=1e-5)


def test_scenario_ranks_are_a_permutation_per_scenario(tiny_lake):
    rows = sql(
        tiny_lake,
        'select scenario, layer, list("rank" order by "rank") as ranks, count(*) filter (where is_target) as t '
        "from scenario_scores where kind = 'expression' group by all",
    )
    assert len(rows) == 6 * 4
    assert all(r["ranks"] == list(range(1, 7)) and r["t"] == 1 for r in rows)


def test_report_is_written_with_its_figures(tiny_lake):
    directory = Lake(tiny_lake).report_dir(MODEL)
    page = (directory / "report.html").read_text()
    for stem in ("layer_curve", "emotion_map", "similarity_matrix", "dose_curve", "scenario_matrix"):
        assert f"{stem}.png" in page and (directory / f"{stem}.png").stat().st_size > 1000


def drop_kind(lake_dir, kind: str) -> None:
    """Removes a kind's probes and centres in one commit, as a probes run that no longer builds it would."""
    for dataset in ("probes", "probe_centers"):
        Lake(lake_dir).delete(dataset, {"model": MODEL, "kind": kind})


def test_without_deflection_probes_the_comparison_is_absent_not_stale(tiny_lake_copy):
    run_evaluate(tiny_lake_copy, model_checks=False)
    drop_kind(tiny_lake_copy, "deflection")
    run_evaluate(tiny_lake_copy, model_checks=False)
    kinds = {r["kind"] for r in sql(tiny_lake_copy, "select distinct kind from evaluation_layers")}
    assert "deflection" not in kinds and "expression" in kinds
    assert not Lake(tiny_lake_copy).has("deflection_vs_expression")
    assert not Lake(tiny_lake_copy).has("dose_curve")
    page = (Lake(tiny_lake_copy).report_dir(MODEL) / "report.html").read_text()
    assert "No deflection probes in the lake" in page


def synthetic_deflection(lake_dir, layer: int, cosine: float, norm_kept: float) -> list[str]:
    """Writes deflection probes with a known cosine to their expression probes; returns their emotions."""
    probes = (
        Lake(lake_dir)
        .table("probes")
        .to_pyarrow_table(
            filters=[
                ("model", "=", MODEL),
                ("source", "=", "reference"),
                ("kind", "=", "expression"),
                ("layer", "=", layer),
            ]
        )
    )
    expression = probes.sort_by("emotion")
    vectors = np.array(expression.column("vector").to_pylist())
    emotions = expression.column("emotion").to_pylist()[:3]
    # A unit direction orthogonal to every expression probe, from the complement of their span.
    basis = np.linalg.qr(np.hstack([vectors.T, np.random.default_rng(layer).normal(size=(vectors.shape[1], 1))]))[0]
    orthogonal = basis[:, len(vectors)]
    deflection = cosine * vectors[:3] + np.sqrt(1 - cosine**2) * orthogonal
    rows = [
        {"emotion": e, "vector": v, "n_texts": 4, "norm_kept": norm_kept, "baseline_corpora": "neutral_story"}
        | {"baseline_variance": 0.5, "estimator": "mean_diff", "model_spec": MODEL}
        for e, v in zip(emotions, deflection.tolist(), strict=True)
    ]
    table = fixed_vectors(pa.Table.from_pylist(rows, schema=PROBES))  # the probes schema; absent columns are null
    Lake(lake_dir).write("probes", table, "append", model=MODEL, source="reference", kind="deflection", layer=layer)
    return emotions


def test_synthetic_deflection_probes_give_their_known_cosine_and_norm_kept(tiny_lake_copy):
    drop_kind(tiny_lake_copy, "deflection")
    emotions = {layer: synthetic_deflection(tiny_lake_copy, layer, 0.05, 0.7) for layer in range(4)}
    run_evaluate(tiny_lake_copy, model_checks=False)
    pairs = sql(tiny_lake_copy, "select * from deflection_vs_expression order by layer, emotion")
    assert len(pairs) == 12
    assert {(r["layer"], r["emotion"]) for r in pairs} == {(la, e) for la, es in emotions.items() for e in es}
    assert all(r["cosine"] == pytest.approx(0.05, abs=1e-4) and r["norm_kept"] == pytest.approx(0.7) for r in pairs)
    layer_rows = sql(tiny_lake_copy, "select * from evaluation_layers where kind = 'deflection' order by layer")
    assert [r["layer"] for r in layer_rows] == [0, 1, 2, 3]
    assert all(r["matched_cosine"] == pytest.approx(0.05, abs=1e-4) and r["n_pairs"] == 3 for r in layer_rows)
    # The tiny lake has deflection dialogues, so the probes before orthogonalisation are rebuilt from them.
    assert all(r["raw_matched_cosine"] is not None and abs(r["raw_matched_cosine"]) <= 1 for r in layer_rows)
    assert "deflection.png" in (Lake(tiny_lake_copy).report_dir(MODEL) / "report.html").read_text()


def test_the_nested_figure_chooses_inside_each_fold_among_the_default_sets_candidates(tiny_lake):
    from etl.probes.policy import default_set, rank_default
    from etl.probes.stored import evaluation_rows

    rows = {r["test_domain"]: r for r in sql(tiny_lake, "select * from nested_selection")}
    assert set(rows) == {"story", "short"}
    layer_rows = evaluation_rows(Lake(tiny_lake), MODEL, "reference")
    candidates = {(r["kind"], r["layer"]) for r in rank_default(layer_rows)}
    kind, layer = default_set(Lake(tiny_lake), MODEL, "reference")
    for row in rows.values():
        assert row["top1_low"] <= row["top1"] <= row["top1_high"] and row["n_test"] > 0
        assert row["n_candidates"] == len(candidates) and row["n_folds"] >= 2
        assert (row["selected_kind"], row["selected_layer"]) == (kind, layer)
        picks = [choice.split(":")[1] for choice in row["choices"].split(", ")]
        assert len(picks) == row["n_folds"] and {tuple(p.split("@")) for p in picks} <= {
            (k, str(n)) for k, n in candidates
        }
    reported = next(r for r in layer_rows if (r["kind"], r["layer"]) == (kind, layer))
    assert rows["story"]["selected_top1"] == reported["story_top1"]


def test_invariance_of_the_default_set_under_each_perturbation(tiny_lake):
    from etl.evaluation.invariance import PERTURBATIONS
    from etl.probes.policy import default_set

    rows = sql(tiny_lake, "select * from invariance")
    assert {(r["kind"], r["layer"]) for r in rows} == {default_set(Lake(tiny_lake), MODEL, "reference")}
    assert {(r["test_set"], r["perturbation"]) for r in rows} == {
        (s, p) for s in ("everyday", "short") for p in PERTURBATIONS
    } | {("all", "all")}
    for row in rows:
        assert all(0 <= row[c] <= 1 for c in ("family_same", "top1_same", "family_hit", "family_hit_before"))
    sizes = {r["test_set"]: r["n_texts"] for r in rows}
    assert sizes["everyday"] == 10 and sizes["short"] == 30 and sizes["all"] == 40 * len(PERTURBATIONS)


def test_layers_evaluated_in_worker_processes_give_the_same_rows(tiny_lake_copy):
    """Each layer is evaluated alone from its own seeds, so two spawned processes give the one-process figures."""
    key = "layer, kind, top1, top1_low, top1_high, short_top1, story_top1, pc1_valence_r, split_half_cos"
    query = f"select {key} from evaluation_layers order by layer, kind"
    lexical = "select test_domain, method, top1, top1_low from lexical_baseline order by all"
    run_evaluate(tiny_lake_copy, model_checks=False, report=False, workers=1)
    alone = sql(tiny_lake_copy, query), sql(tiny_lake_copy, lexical)
    result = run_evaluate(tiny_lake_copy, model_checks=False, report=False, workers=2)
    assert result.details["reference"]["kinds"]
    assert (sql(tiny_lake_copy, query), sql(tiny_lake_copy, lexical)) == alone
    assert len(alone[0]) == len(probe_counts(tiny_lake_copy)) and alone[1]

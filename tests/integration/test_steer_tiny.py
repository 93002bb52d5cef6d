"""Steering on the tiny random model: exact edits at the hooked layer, hook removal, paired sampling, sweep, CLI."""

import json
from pathlib import Path

import numpy as np
import pytest

from etl.errors import EmolakeError
from etl.lake import Lake, views
from etl.model.generate import encode_prompts, generate
from etl.model.hooks import capture, decoder_layers
from etl.model.load import load
from etl.model.steer import Intervention, steer

pytestmark = pytest.mark.integration
TEXT = "The kettle clicked off and the kitchen went quiet again."


@pytest.fixture(scope="module")
def tiny():
    return load("tiny-random")


def unit(width: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=width).astype(np.float32)
    return v / np.linalg.norm(v)


def layer_outputs(loaded, text: str, interventions=(), positions="all", prompt_length=None):
    """Every layer's output (seq, hidden) for one text, with the steering hooks (if any) in place."""
    import torch

    ids = torch.tensor([loaded.tokenizer(text)["input_ids"]])
    layers = list(range(loaded.n_layers))
    with (
        steer(loaded.model, interventions, positions, prompt_length),
        capture(loaded.model, layers, False) as out,
        torch.inference_mode(),
    ):
        loaded.model(input_ids=ids, use_cache=False)
    return {layer: out[layer][0].numpy().copy() for layer in layers}


def test_add_changes_the_hooked_layer_by_exactly_strength_norm_vector(tiny):
    v, strength, norm = unit(tiny.hidden), 0.8, 3.5
    base = layer_outputs(tiny, TEXT)
    steered = layer_outputs(tiny, TEXT, [Intervention(1, v, strength, norm)])
    np.testing.assert_array_equal(steered[0], base[0])
    np.testing.assert_allclose(steered[1] - base[1], np.broadcast_to(strength * norm * v, base[1].shape), atol=1e-5)
    assert np.abs(steered[2] - base[2]).max() > 0.01


def test_prompt_positions_and_several_layers(tiny):
    v, w = unit(tiny.hidden, 1), unit(tiny.hidden, 2)
    base = layer_outputs(tiny, TEXT)
    steered = layer_outputs(
        tiny, TEXT, [Intervention(0, v, 0.5, 2.0), Intervention(0, w, 1.0, 2.0)], positions="prompt", prompt_length=6
    )
    change = steered[0] - base[0]
    np.testing.assert_allclose(change[:6], np.broadcast_to(1.0 * v + 2.0 * w, (6, tiny.hidden)), atol=1e-5)
    np.testing.assert_array_equal(change[6:], 0)
    # positions after the prompt only change downstream of the edit, through attention
    generated = layer_outputs(tiny, TEXT, [Intervention(2, v, 1.0, 2.0)], positions="generated", prompt_length=6)
    np.testing.assert_array_equal(generated[2][:6], base[2][:6])
    np.testing.assert_allclose(
        generated[2][6:] - base[2][6:], np.broadcast_to(2.0 * v, generated[2][6:].shape), atol=1e-5
    )


def test_ablate_leaves_no_component_along_the_vector(tiny):
    v = unit(tiny.hidden, 3)
    base = layer_outputs(tiny, TEXT)
    ablated = layer_outputs(tiny, TEXT, [Intervention(2, v, operator="ablate")])
    assert np.abs(base[2] @ v).max() > 1e-2
    assert np.abs(ablated[2] @ v).max() < 1e-5
    np.testing.assert_allclose(ablated[2], base[2] - np.outer(base[2] @ v, v), atol=1e-5)


def test_add_normalised_keeps_the_norm_at_every_position(tiny):
    v = unit(tiny.hidden, 4)
    base = layer_outputs(tiny, TEXT)
    steered = layer_outputs(tiny, TEXT, [Intervention(3, v, 2.0, 1.0, "add_normalised")])
    np.testing.assert_allclose(np.linalg.norm(steered[3], axis=-1), np.linalg.norm(base[3], axis=-1), rtol=1e-5)


def test_hooks_are_removed_after_an_exception(tiny):
    blocks = decoder_layers(tiny.model)
    before = [len(b._forward_hooks) for b in blocks]
    with pytest.raises(RuntimeError, match="boom"), steer(tiny.model, [Intervention(1, unit(tiny.hidden), 5.0)]):
        assert len(blocks[1]._forward_hooks) == before[1] + 1
        raise RuntimeError("boom")
    assert [len(b._forward_hooks) for b in blocks] == before
    # an error raised inside the hook, mid-forward, also leaves no hook behind
    wrong = Intervention(1, np.stack([unit(tiny.hidden)] * 3), 1.0)
    with pytest.raises(EmolakeError, match="3 rows but the batch has 1"):
        layer_outputs(tiny, TEXT, [wrong])
    assert [len(b._forward_hooks) for b in blocks] == before
    np.testing.assert_array_equal(layer_outputs(tiny, TEXT)[3], layer_outputs(tiny, TEXT)[3])


def test_unknown_layer_is_refused(tiny):
    with (
        pytest.raises(EmolakeError, match="steering layer 9 does not exist"),
        steer(tiny.model, [Intervention(9, unit(64))]),
    ):
        pass


def test_rows_do_not_depend_on_their_batch_and_zero_strength_is_the_baseline(tiny):
    prompts = ["Tell me about the sea.", "Write one line about a very long afternoon in the garden."]
    ids = encode_prompts(tiny.tokenizer, prompts)
    together = generate(tiny, ids, [3, 4], 12, 0.9, 0.95)
    for row in range(2):
        alone = generate(tiny, [ids[row]], [3 + row], 12, 0.9, 0.95)
        assert alone.new_ids[0] == together.new_ids[row]
    zero = Intervention(1, np.stack([unit(tiny.hidden)] * 2), np.zeros(2), 1.0)
    assert generate(tiny, ids, [3, 4], 12, 0.9, 0.95, [zero]).new_ids == together.new_ids
    pushed = Intervention(1, np.stack([unit(tiny.hidden)] * 2), np.full(2, 50.0), 1.0)
    assert generate(tiny, ids, [3, 4], 12, 0.9, 0.95, [pushed]).new_ids != together.new_ids


def test_generated_positions_are_counted_across_cached_calls(tiny):
    import torch

    ids = torch.tensor([tiny.tokenizer(TEXT)["input_ids"]])
    v, n = unit(tiny.hidden, 5), ids.shape[1]

    def two_calls(interventions):
        outputs = []
        with steer(tiny.model, interventions, "generated") as state, torch.inference_mode():
            cache = None
            for part in (ids[:, :-1], ids[:, -1:]):
                with capture(tiny.model, [1], stop_after=False) as captured:
                    cache = tiny.model(input_ids=part, past_key_values=cache, use_cache=True).past_key_values
                outputs.append(captured[1][0].numpy().copy())
        return outputs, state

    (base_prompt, base_last), _ = two_calls([])
    (prompt, last), state = two_calls([Intervention(1, v, 1.5, 2.0)])
    assert (state.prompt_length, state.seen[1], state.calls[1]) == (n - 1, n, 2)
    np.testing.assert_array_equal(prompt, base_prompt)
    np.testing.assert_allclose(last - base_last, (1.5 * 2.0 * v)[None, :], atol=1e-5)


def test_residual_norms_are_measured_once_and_reused(tiny_lake_copy, tiny, monkeypatch):
    from etl.steering import norms as steer_norms

    lake = Lake(tiny_lake_copy)
    norms = steer_norms.layer_norms(lake, tiny, "neutral_story", 6)
    texts = steer_norms.neutral_texts(lake, "neutral_story", 6)
    from etl.model.residuals import forward_layers, tokenize

    ids = tokenize(tiny.tokenizer, texts, steer_norms.NORM_TOKENS)

    per_token = []
    for row in ids:
        captured, _ = forward_layers(tiny.model, [row], tiny.tokenizer.pad_token_id, [2])
        per_token += np.linalg.norm(captured[2][0, 1:].numpy(), axis=-1).tolist()
    assert norms[2] == pytest.approx(np.mean(per_token), rel=1e-5)
    monkeypatch.setattr(steer_norms, "measure", lambda *a: pytest.fail("norms were measured again"))
    assert steer_norms.layer_norms(lake, tiny, "neutral_story", 6) == norms
    rows = views.run(lake, "select layer, n_texts, n_tokens from residual_norms order by layer").to_pylist()
    assert [r["layer"] for r in rows] == [0, 1, 2, 3] and rows[0]["n_texts"] == 6


def test_steer_command_prints_both_texts_and_the_verdict(tiny_lake_copy, cli):
    args = ["--lake", tiny_lake_copy, "steer", "--preset", "tiny", "--emotion", "afraid", "--strength", "2"]
    code, out, err = cli(*args, "--prompt", "Tell me about your day.", "--max-new-tokens", "8", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert {"baseline", "steered", "target_delta", "perplexity_ratio", "regime"} <= set(report)
    assert report["regime"] in ("surgical", "repetitive", "explosive") and report["layer"] == 1
    assert report["target_delta"] == pytest.approx(report["steered_target"] - report["baseline_target"], abs=1e-3)
    assert set(report["judges"]) == {"nrc_lexicon", "tfidf_family"} and report["kind"] == "expression"
    assert report["judged_success"] == (
        report["regime"] == "surgical" and all(j["agrees"] for j in report["judges"].values())
    )
    code, out, _ = cli(*args, "--prompt", "Tell me about your day.", "--max-new-tokens", "8", "--seed", "1")
    assert code == 0 and "baseline" in out and "steered" in out and "regime:" in out
    # the plain output names each pre-registered judge and the verdict, beside the own probe (labelled as such)
    assert "judge nrc_lexicon (fear)" in out and "judge tfidf_family (fear)" in out
    assert "own probe, the steered model's afraid probe" in out
    verdict = next(line for line in out.splitlines() if line.startswith("verdict: "))
    assert verdict.startswith(("verdict: judged success", "verdict: no judged success: "))
    code, _, err = cli(*args[:-4], "--emotion", "grateful", "--strength", "1", "--prompt", "hi")
    assert code == 1 and "emotion 'grateful' has no probe" in err


def test_sweep_fills_steering_runs_and_the_summary(tiny_lake_copy, cli):
    code, out, err = cli("--lake", tiny_lake_copy, "steer-sweep", "--preset", "tiny")
    assert code == 0, err
    assert "judged success rate" in out and "own probe" in out
    lake = Lake(tiny_lake_copy)
    runs = views.run(lake, "select * from steering_runs").to_pylist()
    assert len(runs) == 2 * 2 * 2 * 1 * 2 * 2  # kinds x emotions x strengths x layers x prompts x seeds
    assert {r["kind"] for r in runs} == {"expression", "pooled"}
    assert {r["regime"] for r in runs} <= {"surgical", "repetitive", "explosive"}
    first = runs[0]
    assert len(first["steered_scores"]) == 6 and first["baseline"] and first["steered"]
    assert first["target_delta"] == pytest.approx(
        dict(first["steered_scores"])[first["emotion"]] - dict(first["baseline_scores"])[first["emotion"]], abs=1e-5
    )
    pairs = {(r["prompt"], r["seed"]) for r in runs}
    assert all(len({r["baseline"] for r in runs if (r["prompt"], r["seed"]) == p}) == 1 for p in pairs)
    # the two kinds steer with different vectors: the same case and strength gives different texts somewhere
    twins = {(r["emotion"], r["strength"], r["prompt"], r["seed"], r["kind"]): r["steered"] for r in runs}
    assert any(twins[key] != twins[(*key[:4], "pooled")] for key in twins if key[4] == "expression")
    summary = views.run(lake, "select * from steering_summary order by kind, emotion, strength").to_pylist()
    assert len(summary) == 8 and all(s["n_runs"] == 4 and s["n_probes"] == 6 for s in summary)
    picked = [r for r in runs if (r["kind"], r["emotion"], r["strength"]) == ("expression", "afraid", 0.5)]
    assert summary[0]["success_rate"] == pytest.approx(np.mean([r["success"] for r in picked]))
    assert summary[0]["judged_success_rate"] == pytest.approx(np.mean([r["judged_success"] for r in picked]))
    for s in summary:
        assert s["judged_success_low"] <= s["judged_success_rate"] <= s["judged_success_high"]
        assert s["judged_success_rate"] <= min(s["nrc_lexicon_success_rate"], s["tfidf_family_success_rate"])
    effects = views.run(lake, "select count(*) as n from steering_effects").to_pylist()[0]["n"]
    assert effects == 8 * 6
    best = views.run(lake, "select * from steering_best order by emotion").to_pylist()
    assert [b["emotion"] for b in best] == ["afraid", "calm"] and all(b["n_settings"] == 4 for b in best)
    for b in best:
        rates = [s["judged_success_rate"] for s in summary if s["emotion"] == b["emotion"]]
        assert b["judged_success_rate"] == max(rates)
    overall = views.run(lake, "select * from steering_judged where scope = 'overall'").to_pylist()
    assert {r["reader"]: r["n_runs"] for r in overall} == dict.fromkeys(
        ("judged", "own_probe", "nrc_lexicon", "tfidf_family"), 32
    )
    stage = views.run(lake, "select stage, rows_written from runs where stage = 'steer'").to_pylist()
    assert stage == [{"stage": "steer", "rows_written": 32}]
    # a second sweep is skipped; --force reruns it and the sampled texts come out the same
    path = next(lake.dataset("steering_runs").rglob("*.parquet"))
    mtime = path.stat().st_mtime_ns
    assert cli("--lake", tiny_lake_copy, "steer-sweep", "--preset", "tiny")[0] == 0
    assert path.stat().st_mtime_ns == mtime
    assert cli("--lake", tiny_lake_copy, "steer-sweep", "--preset", "tiny", "--force")[0] == 0
    again = views.run(lake, "select run_id, steered, target_delta from steering_runs order by run_id").to_pylist()
    before = sorted((r["run_id"], r["steered"], r["target_delta"]) for r in runs)
    assert [(r["run_id"], r["steered"], r["target_delta"]) for r in again] == before


def test_the_judges_read_both_texts_and_land_in_steering_runs(tiny_lake):
    from etl.evaluation.judges import JUDGES, LexiconJudge, TfidfJudge, shipped_texts

    lake = Lake(tiny_lake)
    runs = views.run(lake, "select * from steering_runs order by run_id").to_pylist()
    assert runs and all(r["judges"] == list(JUDGES) for r in runs)
    judges = {"nrc_lexicon": LexiconJudge(), "tfidf_family": TfidfJudge(*shipped_texts(lake))}
    for name, judge in judges.items():
        emotions = [r["emotion"] for r in runs]
        base, _ = judge.read([r["baseline"] for r in runs], emotions)
        steered, steered_opposite = judge.read([r["steered"] for r in runs], emotions)
        stored = {key: [dict(r[key])[name] for r in runs] for key in ("judge_baseline", "judge_steered")}
        np.testing.assert_allclose(np.array(stored["judge_baseline"], dtype=float), base, equal_nan=True)
        np.testing.assert_allclose(np.array(stored["judge_steered"], dtype=float), steered, equal_nan=True)
        opposite = np.array([dict(r["judge_opposite_steered"])[name] for r in runs], dtype=float)
        np.testing.assert_allclose(opposite, steered_opposite, equal_nan=True)
        agrees = [dict(r["judge_agrees"])[name] for r in runs]
        assert agrees == [bool(s > b) for s, b in zip(steered, base, strict=True)]
        assert {dict(r["judge_labels"])[name] for r in runs} == {judge.label("afraid"), judge.label("calm")}
    for r in runs:
        assert r["judged_success"] == (r["regime"] == "surgical" and all(dict(r["judge_agrees"]).values()))


def test_setting_id_names_one_setting_and_the_summary_has_one_row_per_setting(tiny_lake):
    lake = Lake(tiny_lake)
    key = "model, sweep, layer, emotion, strength, operator, positions, kind"

    def settings(view: str) -> list[tuple]:
        rows = views.run(lake, f"select setting_id, {key} from {view}").to_pylist()
        return [tuple(row.values()) for row in rows]

    runs = set(settings("steering_runs"))
    ids = {run[0] for run in runs}
    assert len(runs) > 1 and len(ids) == len(runs) == len({run[1:] for run in runs})
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
    summary = settings("steering_summary")
    assert len(summary) == len(runs) and set(summary) == runs
    assert {row[0] for row in settings("steering_effects")} == ids


def test_null_directions_are_steered_judged_and_never_the_best_setting(tiny_lake_copy, cli):
    from etl.config import load_preset
    from etl.steering.compare import Steerer

    kinds = '["pooled", "random", "shuffled"]'
    code, out, err = cli("--lake", tiny_lake_copy, "steer-sweep", "--preset", "tiny", "--set", f"steer.kinds={kinds}")
    assert code == 0, err
    assert "controls (null directions, judged success rate): random" in out and "shuffled" in out
    lake = Lake(tiny_lake_copy)
    runs = views.run(lake, "select kind, control from steering_runs").to_pylist()
    assert {(r["kind"], r["control"]) for r in runs} == {("pooled", False), ("random", True), ("shuffled", True)}
    best = views.run(lake, "select kind from steering_best").to_pylist()
    assert best and {b["kind"] for b in best} == {"pooled"}
    judged = views.run(lake, "select scope, kind, n_runs from steering_judged where reader = 'judged'").to_pylist()
    per_kind = {r["kind"]: r["n_runs"] for r in judged if r["scope"] == "kind"}
    assert per_kind == {"pooled": 16, "random": 16, "shuffled": 16}
    assert [r["n_runs"] for r in judged if r["scope"] == "overall"] == [16]  # controls are not in the overall rate
    # the directions: a seeded random unit vector; another emotion's vector of the first kind
    preset = load_preset("tiny", lake=tiny_lake_copy, overrides=[f"steer.kinds={kinds}"])
    steerer = Steerer(lake, load(preset.common.model), preset.steer, store_norms=False)
    probe = steerer.direction("afraid", 1, "pooled")
    random = steerer.direction("afraid", 1, "random")
    assert np.linalg.norm(random) == pytest.approx(1.0, abs=1e-5) and abs(float(random @ probe)) < 0.9
    np.testing.assert_array_equal(random, steerer.direction("afraid", 1, "random"))
    assert not np.array_equal(random, steerer.direction("calm", 1, "random"))
    shuffled = steerer.direction("afraid", 1, "shuffled")
    others = [steerer.direction(e, 1, "pooled") for e in steerer.emotions if e != "afraid"]
    assert any(np.array_equal(shuffled, v) for v in others) and not np.array_equal(shuffled, probe)


def test_a_sweep_must_start_with_a_probe_kind():
    from etl.config import load_preset

    with pytest.raises(EmolakeError, match="starts with a control: put a probe kind first"):
        load_preset("tiny", overrides=['steer.kinds=["random", "pooled"]'])


def test_the_forced_choice_is_read_from_letter_logits_and_set_against_random_pairs(tiny_lake, tiny):
    from etl.config import load_preset
    from etl.model.generate import encode_prompts
    from etl.steering.choice import ORDERS, SITUATIONS, Condition, answer_logits, letter_ids, prompt

    lake = Lake(tiny_lake)
    steer_config = load_preset("tiny").steer
    rows = views.run(lake, "select * from steering_choice").to_pylist()
    conditions = 1 + len(steer_config.choice_strengths) * (4 + steer_config.choice_random)
    assert len(rows) == conditions * len(SITUATIONS) * len(ORDERS)
    assert {r["condition"] for r in rows if not r["control"]} == {"baseline", "happy", "calm", "sad", "afraid"}
    # the stored baseline equals the letter logits of a fresh forward pass (approach shown second: B minus A)
    stored = next(r for r in rows if (r["condition"], r["situation"], r["order"]) == ("baseline", 3, ORDERS[1]))
    ids = encode_prompts(tiny.tokenizer, [prompt(SITUATIONS[3], ORDERS[1])])
    logits = answer_logits(tiny, ids, Condition("baseline", 0.0, None), 1, 1.0, "add")
    a, b = letter_ids(tiny.tokenizer)
    assert stored["logodds"] == pytest.approx(float(logits[0, b] - logits[0, a]), abs=1e-4)
    effects = views.run(lake, "select * from steering_choice_effects").to_pylist()
    primary = next(e for e in effects if (e["contrast"], e["strength"]) == ("happy - sad", 0.25))
    mean = views.run(
        lake,
        "with lo as (select condition, situation, avg(logodds) as lo from steering_choice where strength = 0.25 "
        "group by all) select avg(h.lo - s.lo) as effect from lo h join lo s using (situation) "
        "where h.condition = 'happy' and s.condition = 'sad'",
    ).to_pylist()[0]["effect"]
    assert primary["effect"] == pytest.approx(mean, abs=1e-9)
    assert primary["effect_low"] <= primary["effect"] <= primary["effect_high"]
    assert primary["n_null"] == 120 and 0 < primary["null_p"] <= 1 and primary["n_situations"] == 16
    assert primary["shown"] == (
        primary["effect"] > 0 and primary["effect_low"] > 0 and primary["effect"] > primary["null_p95_abs"]
    )


def test_another_models_probes_read_the_sweep_beside_the_judges(two_model_lake, tmp_path, cli):
    import shutil

    from etl import runner
    from etl.config import load_preset
    from etl.evaluation.judges import JUDGES
    from etl.evaluation.readers import ModelReader

    lake_root = tmp_path / "lake"
    shutil.copytree(two_model_lake, lake_root)
    runner.execute("index", load_preset("tiny", lake=lake_root, model="tiny-random-6"))
    code, _, err = cli(
        "--lake", lake_root, "steer-sweep", "--preset", "tiny", "--set", 'steer.readers=["tiny-random-6"]'
    )
    assert code == 0, err
    lake = Lake(lake_root)
    runs = views.run(lake, "select * from steering_runs where model = 'tiny-random' order by run_id").to_pylist()
    assert runs and all(r["judges"] == [*JUDGES, "model:tiny-random-6"] for r in runs)
    reader = ModelReader(lake, "tiny-random-6", "reference")
    emotions = [r["emotion"] for r in runs]
    base, _ = reader.read([r["baseline"] for r in runs], emotions)
    steered, _ = reader.read([r["steered"] for r in runs], emotions)
    stored = {
        key: np.array([dict(r[key])["model:tiny-random-6"] for r in runs], dtype=float)
        for key in ("judge_baseline", "judge_steered")
    }
    np.testing.assert_allclose(stored["judge_baseline"], base, rtol=1e-5, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(stored["judge_steered"], steered, rtol=1e-5, atol=1e-6, equal_nan=True)
    # agreement read off the stored readings: a recomputation in other batches may differ in the last bits
    assert [dict(r["judge_agrees"])["model:tiny-random-6"] for r in runs] == [
        bool(s > b) for s, b in zip(stored["judge_steered"], stored["judge_baseline"], strict=True)
    ]
    for r in runs:  # the pre-registered rule: the model reader never decides judged_success
        agrees = dict(r["judge_agrees"])
        assert r["judged_success"] == (r["regime"] == "surgical" and all(agrees[j] for j in JUDGES))
    judged = views.run(lake, "select reader from steering_judged where scope = 'overall'").column("reader")
    assert "model:tiny-random-6" in judged.to_pylist()


def test_a_reader_must_be_another_model_with_probes(tiny_lake_copy, cli):
    def files() -> list[tuple[str, int]]:
        return sorted((str(p.relative_to(tiny_lake_copy)), p.stat().st_size) for p in Path(tiny_lake_copy).rglob("*"))

    before = files()
    for reader, message in (
        ("tiny-random", "steer.readers names 'tiny-random', the steered model: name another model"),
        ("tiny-random-6", "steer.readers: 'tiny-random-6' cannot read"),
    ):
        code, out, err = cli(
            "--lake", tiny_lake_copy, "steer-sweep", "--preset", "tiny", "--set", f'steer.readers=["{reader}"]'
        )
        assert code != 0 and out == "" and message in err and "Traceback" not in err
    assert files() == before  # refused before the model loads or anything is written

"""The Ray runner writes the local runner's lake: extraction and scoring on a local Ray (two CPUs, one cluster for
the module), a driver killed mid-run resumes with only the missing shards, and a shard that keeps failing stops the
run naming it while the landed shards stay."""

import functools
import os
import signal
import subprocess
import sys
import time

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from etl import runner
from etl.config import RunnerConfig, load_preset
from etl.errors import EmolakeError
from etl.executors import run_shards
from etl.lake import Lake, views
from etl.stages import extract

ray = pytest.importorskip("ray", reason="the Ray runner is an optional extra: pip install -e '.[ray]'")
pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def cluster():
    """One local Ray for the module; actors get the torch threads of this process, so both runners compute alike."""
    import torch

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield {"address": ray.get_runtime_context().gcs_address, "threads": torch.get_num_threads()}
    ray.shutdown()


def on_ray(cluster, workers: int = 2) -> list[str]:
    return ["runner.backend=ray", f"runner.workers={workers}", f"runner.torch_threads={cluster['threads']}"]


def lake_rows(lake: Lake) -> dict[int, dict[tuple[str, str], np.ndarray]]:
    """layer -> (text_id, segment) -> stored vector; fails on a duplicated key."""
    sql = "select layer, text_id, segment, npy_path, row_offset from activations order by all"
    out: dict[int, dict] = {}
    for r in views.run(lake, sql).to_pylist():
        vectors = out.setdefault(r["layer"], {})
        assert (r["text_id"], r["segment"]) not in vectors, f"duplicate row {r}"
        vectors[(r["text_id"], r["segment"])] = np.load(lake.root / r["npy_path"], mmap_mode="r")[r["row_offset"]]
    return out


def assert_same_lake(got: Lake, expected: Lake) -> None:
    got_rows, expected_rows = lake_rows(got), lake_rows(expected)
    assert sorted(got_rows) == sorted(expected_rows)
    for layer, vectors in expected_rows.items():
        assert sorted(got_rows[layer]) == sorted(vectors), f"layer {layer}: other text_ids or segments"
        for key, vector in vectors.items():
            np.testing.assert_allclose(got_rows[layer][key], vector, atol=1e-5, rtol=0)


def shard_files(lake: Lake) -> dict[str, int]:
    """Every committed float16 file (one per shard and layer) -> its modification time."""
    table = lake.table("activations")
    if table is None:
        return {}
    paths = set(table.to_pyarrow_table(columns=["npy_path"]).column(0).to_pylist())
    return {path: (lake.root / path).stat().st_mtime_ns for path in paths}


def test_ray_extract_writes_the_local_runners_lake(cluster, tiny_lake, tmp_path):
    preset = load_preset("tiny", lake=tmp_path / "lake", overrides=on_ray(cluster))
    runner.execute("generate", preset)
    result = runner.execute("extract", preset)
    assert result.rows_written > 0
    assert_same_lake(Lake(tmp_path / "lake"), Lake(tiny_lake))
    assert len(shard_files(Lake(tmp_path / "lake"))) == len(shard_files(Lake(tiny_lake)))  # the same shards


SHARD_TEXTS = 6
"""About 40 shards per layer: enough to kill the driver after 2 have landed and long before the last."""


def test_a_killed_driver_reruns_only_the_missing_shards(cluster, tmp_path):
    small = [f"extract.shard_texts={SHARD_TEXTS}"]
    local = load_preset("tiny", lake=tmp_path / "local", overrides=small)
    runner.execute("generate", local)
    runner.execute("extract", local)
    lake = Lake(tmp_path / "ray")
    preset = load_preset("tiny", lake=lake.root, overrides=[*small, *on_ray(cluster, workers=1)])
    runner.execute("generate", preset)
    n_shards = len(shard_files(Lake(local.common.lake))) // 4  # four layers
    command = [sys.executable, "-m", "etl", "-q", "--lake", str(lake.root), "run", "extract", "--preset", "tiny"]
    command += ["--set", small[0], "--runner", "ray", "--address", cluster["address"]]
    driver = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(shard_files(lake)) < 8 and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    landed = shard_files(lake)
    assert 8 <= len(landed) < 4 * n_shards, "the driver was not killed mid-run"
    plan = extract.plan_shards(lake, preset.extract, _tokenizer(), "tiny-random", [0, 1, 2, 3])
    assert 0 < plan.num_rows < n_shards
    runner.execute("extract", preset)
    after = shard_files(lake)
    assert {k: after.get(k) for k in landed} == landed, "a shard that had landed was written again"
    assert len(after) == len(shard_files(Lake(local.common.lake)))
    assert_same_lake(lake, Lake(local.common.lake))


def test_a_shard_that_keeps_failing_stops_the_run_naming_it(cluster, tmp_path):
    lake = Lake(tmp_path / "lake")
    preset = load_preset("tiny", lake=lake.root, overrides=["runner.max_attempts=2", *on_ray(cluster)])
    runner.execute("generate", preset)
    layers = [0, 1, 2, 3]
    plan = extract.plan_shards(lake, preset.extract, _tokenizer(), "tiny-random", layers).to_pylist()
    plan[3]["texts"][0]["segments"] = "not json"
    shards = pa.Table.from_pylist(plan, schema=extract.SHARD_PLAN)
    worker = functools.partial(extract.extract_worker, preset.extract, "tiny-random", layers)
    with pytest.raises(EmolakeError, match=r"shard 3 failed 2 time\(s\): JSONDecodeError"):
        for _ in run_shards(shards, worker, preset.extract.runner, desc="extract"):
            pass
    landed = set(lake.table("activations").to_pyarrow_table(columns=["shard"]).column(0).to_pylist())
    assert landed - {3} != set()  # the shards that landed stay
    assert 3 not in landed


def test_ray_scores_equal_local_scores(cluster, tiny_lake_copy, tmp_path, cli):
    source = tmp_path / "in.csv"
    source.write_text(
        "id,body\n" + "".join(f"r{i},Text number {i} about a {'long ' * i}walk home.\n" for i in range(9))
    )
    args = ["score", "--input", source, "--text-column", "body", "--id-column", "id", "--batch-tokens", "200"]
    code, _, err = cli("--lake", tiny_lake_copy, *args, "--layers", "1", "3")
    assert code == 0, err
    local = views.run(Lake(tiny_lake_copy), "select * from scores order by all").to_pylist()
    Lake(tiny_lake_copy).delete("scores", {"model": "tiny-random"})
    code, _, err = cli("--lake", tiny_lake_copy, *args, "--layers", "1", "3", "--runner", "ray", "--workers", "2")
    assert code == 0, err
    remote = views.run(Lake(tiny_lake_copy), "select * from scores order by all").to_pylist()
    assert len(remote) == len(local) > 0
    assert [{k: v for k, v in r.items() if k != "score"} for r in remote] == [
        {k: v for k, v in r.items() if k != "score"} for r in local
    ]
    np.testing.assert_allclose([r["score"] for r in remote], [r["score"] for r in local], atol=1e-5, rtol=0)


GENERATE = """
model = "tiny-random"
emotions = ["afraid", "calm", "happy"]
[generate]
sources = ["local"]
deflection_pairs = "norms"
deflection_targets = 2
[generate.local]
stories_per_emotion = 2
neutral_stories = 2
deflection_per_target = 1
speaker_dialogues = 2
batch_size = 2
max_new_tokens = 8
dialogue_max_new_tokens = 8
"""


def test_ray_self_generation_lands_what_the_local_runner_lands(cluster, tmp_path):
    path = tmp_path / "generate.toml"
    path.write_text(GENERATE)
    landed = {}
    for name, overrides in (("local", []), ("ray", on_ray(cluster))):
        preset = load_preset(str(path), lake=tmp_path / name, overrides=overrides)
        runner.execute("generate", preset)
        lake = Lake(tmp_path / name)
        sql = f"""
            select * exclude (created_at), 'texts' as dataset from {views.scan(lake, "texts")}
            union all by name
            select * exclude (created_at), 'rejects' as dataset from {views.scan(lake, "rejects")}
            order by text_id
        """
        landed[name] = duckdb.sql(sql).to_arrow_table().to_pylist()
    assert len(landed["ray"]) == len({r["text_id"] for r in landed["ray"]}) > 0
    assert landed["ray"] == landed["local"]


def _tokenizer():
    from etl.model.load import load

    return load("tiny-random").tokenizer


def test_runner_config_is_checked():
    with pytest.raises(EmolakeError, match=r"runner\.workers"):
        RunnerConfig(backend="ray", workers=0)


@pytest.mark.slow
def test_the_ray_driver_plans_with_the_tokenizer_the_actors_load():
    from etl.model.generate import chat_prompt
    from etl.model.load import load, load_shape

    spec = "bundled:smollm2-135m-instruct"
    shape, whole = load_shape(spec), load(spec)
    texts = ["Hello there, how are you today?", "Person: fine.\nAI: good."]
    assert shape.model is None
    assert (shape.n_layers, shape.hidden, shape.slug) == (whole.n_layers, whole.hidden, whole.slug)
    assert shape.tokenizer(texts)["input_ids"] == whole.tokenizer(texts)["input_ids"]
    assert shape.tokenizer.pad_token_id == whole.tokenizer.pad_token_id
    assert chat_prompt(shape.tokenizer, "Write.") == chat_prompt(whole.tokenizer, "Write.")

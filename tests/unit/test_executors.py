"""The runner choice: the `[runner]` table and its flags, checked like every config; not part of any run key; shard
ids that a rerun gives back unchanged; results put back in plan order."""

import argparse

import pyarrow as pa
import pytest

from etl.commands._common import add_runner_options, runner_config, runner_overrides
from etl.config import RunnerConfig, config_hash, load_preset
from etl.errors import EmolakeError
from etl.executors import free_ids, in_plan_order, run_shards


def parse(*flags: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_runner_options(parser)
    return parser.parse_args(list(flags))


def test_flags_become_the_runner_of_extract_and_generate(tmp_path):
    args = parse("--runner", "ray", "--workers", "4", "--gpus-per-worker", "1", "--address", "ray://head:10001")
    preset = load_preset("tiny", lake=tmp_path, overrides=runner_overrides(args))
    expected = RunnerConfig(backend="ray", address="ray://head:10001", workers=4, gpus_per_worker=1.0)
    assert preset.extract.runner == preset.generate.runner == expected
    assert runner_config(args) == expected
    assert load_preset("tiny", lake=tmp_path).extract.runner == RunnerConfig()


def test_the_runner_is_not_part_of_the_run_key(tmp_path):
    local = load_preset("tiny", lake=tmp_path)
    ray = load_preset("tiny", lake=tmp_path, overrides=["runner.backend=ray", "runner.workers=8"])
    assert config_hash(local.extract) == config_hash(ray.extract)
    assert config_hash(local.generate) == config_hash(ray.generate)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"backend": "spark"}, "runner.backend"),
        ({"workers": 0}, "runner.workers"),
        ({"backend": "ray", "max_attempts": 0}, "runner.max_attempts"),
        ({"gpus_per_worker": -1}, "runner.gpus_per_worker"),
        ({"address": "auto"}, "runner.address"),
        ({"backend": "ray", "address": "nowhere"}, "runner.address"),
    ],
)
def test_bad_runner_values_are_refused_by_name(values, named):
    with pytest.raises(EmolakeError, match=named.replace(".", r"\.")):
        RunnerConfig(**values)


def test_an_unknown_runner_key_in_a_preset_is_refused(tmp_path):
    with pytest.raises(EmolakeError, match="unknown key"):
        load_preset("tiny", lake=tmp_path, overrides=["runner.nodes=3"])


def test_free_ids_give_a_rerun_its_unfinished_shards_back():
    planned = free_ids(set(), 6)
    landed = {1, 3, 4}
    assert planned == [0, 1, 2, 3, 4, 5]
    assert free_ids(landed, 3) == [0, 2, 5]
    assert free_ids({0, 1, 2}, 2) == [3, 4]


def test_outputs_come_back_in_plan_order():
    arrivals = [(5, pa.table({"x": [5]})), (2, pa.table({"x": [2]})), (9, pa.table({"x": [9]}))]
    assert [shard for shard, _ in in_plan_order(iter(arrivals), [2, 5, 9])] == [2, 5, 9]


def test_the_local_runner_calls_the_shard_function_in_order():
    shards = pa.table({"shard": [4, 7], "n": [1, 2]})

    def worker():
        return lambda row: pa.table({"twice": [row["n"] * 2]})

    out = [
        (shard, table.column("twice")[0].as_py()) for shard, table in run_shards(shards, worker, RunnerConfig(), "t")
    ]
    assert out == [(4, 2), (7, 4)]


def test_an_unreachable_cluster_fails_at_once_naming_it():
    import socket

    from etl.executors.ray_data import check_reachable

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(EmolakeError, match=f"127.0.0.1:{port}"):
        check_reachable(f"ray://127.0.0.1:{port}", timeout_s=2)
    check_reachable("auto")
    check_reachable(None)

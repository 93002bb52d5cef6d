"""A lake in an object store (`--lake s3://bucket/prefix`), against a local S3-compatible server (moto, started
here on 127.0.0.1): the pipeline writes what a local run writes, a reader with an empty cache gets it all back from
the store, two writers with caches of their own (two hosts: no shared filesystem, no common lock) lose and double
nothing, and damage or a planted path in the store is named, never followed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.lake_state import differences, state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "lakes"
ORDERING = {"manifest"}
"""Which runs recorded themselves differs with the interleaving; what the lake holds does not."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """A moto S3 server on a free loopback port with an empty bucket; stopped after the module."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path_factory.mktemp("moto"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        s3_client(url).create_bucket(Bucket=BUCKET)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def s3_client(url: str):
    import boto3

    return boto3.client(
        "s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )


def store_env(url: str, cache: Path) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
        "EMOLAKE_CACHE": str(cache),
    }


@pytest.fixture
def reader(endpoint, tmp_path, monkeypatch):
    """This process reads the store with an empty cache of its own (what another host would see)."""
    for name, value in store_env(endpoint, tmp_path / "reader-cache").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("EMOLAKE_LAKE", raising=False)
    return tmp_path / "reader-cache"


def start(lake: str, url: str, cache: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, **store_env(url, cache), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "etl", "-q", "--lake", lake, *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(*running: subprocess.Popen) -> list[tuple[int, str]]:
    errors = [proc.communicate(timeout=900)[1] for proc in running]
    return [(proc.returncode, err) for proc, err in zip(running, errors, strict=True)]


def held(lake) -> dict:
    return {k: v for k, v in state(lake).items() if k not in ORDERING}


@pytest.fixture(scope="module")
def s3_lake(endpoint, tmp_path_factory) -> str:
    """`run all --preset tiny` once on a fresh prefix, by a process with a cache of its own."""
    lake = f"s3://{BUCKET}/single-{uuid.uuid4().hex[:8]}"
    ((code, err),) = finish(
        start(lake, endpoint, tmp_path_factory.mktemp("writer-cache"), "run", "all", "--preset", "tiny")
    )
    assert code == 0, err
    return lake


@pytest.fixture(scope="module")
def local_lake(tiny_cli_lake) -> Path:
    """The same run on a local lake, by the same kind of process."""
    return tiny_cli_lake


def test_a_lake_in_a_store_holds_what_a_local_lake_holds(s3_lake, local_lake, reader, cli):
    assert differences(held(s3_lake), held(local_lake)) == []  # every row, vector and index file, from the store
    text = "She checked the lock three times and still could not sleep."
    answers = [cli("--lake", lake, "nearest", text, "--json") for lake in (s3_lake, local_lake)]
    assert [code for code, _, _ in answers] == [0, 0], answers
    assert json.loads(answers[0][1]) == json.loads(answers[1][1])
    code, out, err = cli("--lake", s3_lake, "verify")
    assert (code, out.strip()) == (0, f"ok: every file of the lake at {s3_lake} matches its commit record"), err
    code, out, _ = cli("--lake", s3_lake, "history", "texts", "--format", "json")
    assert code == 0 and json.loads(out)


def test_two_writers_on_two_hosts_lose_and_double_nothing(endpoint, s3_lake, reader, cli, tmp_path):
    lake = f"s3://{BUCKET}/pair-{uuid.uuid4().hex[:8]}"
    results = finish(*(start(lake, endpoint, tmp_path / f"host-{n}", "run", "all", "--preset", "tiny") for n in (1, 2)))
    assert [code for code, _ in results] == [0, 0], results
    assert differences(held(lake), held(s3_lake)) == []
    code, out, err = cli("--lake", lake, "verify")  # a loser's unnamed uploads are counted, not called damage
    assert code == 0, out + err


def test_damage_in_the_store_is_named_and_a_planted_path_is_never_followed(endpoint, s3_lake, reader, cli, tmp_path):
    from etl.lake import Lake

    client = s3_client(endpoint)
    prefix = s3_lake.removeprefix(f"s3://{BUCKET}/")
    shard_rel = sorted(
        key["Key"].removeprefix(prefix + "/")
        for key in client.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/shards/")["Contents"]
    )[0]
    body = client.get_object(Bucket=BUCKET, Key=f"{prefix}/{shard_rel}")["Body"].read()
    flipped = body[:-1] + bytes([body[-1] ^ 1])
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/{shard_rel}", Body=flipped)
    try:
        code, out, err = cli("--lake", s3_lake, "verify")
        assert code == 1 and f"{shard_rel}: altered" in out, out + err
        code, out, err = cli("--lake", s3_lake, "verify", "--repair")
        assert code == 1 and "--repair mends a local lake" in err and "Traceback" not in err
    finally:
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{shard_rel}", Body=body)

    victim = tmp_path / "victim.parquet"
    victim.write_bytes(b"not lake data")
    planted = f"{prefix}/texts/_delta_log/{Lake(s3_lake).version('texts') + 1:020d}.json"
    entry = {"add": {"path": "../" * 8 + str(victim).lstrip("/"), "size": 13, "partitionValues": {},
                     "modificationTime": 0, "dataChange": True}}  # fmt: skip
    client.put_object(Bucket=BUCKET, Key=planted, Body=json.dumps(entry).encode())
    try:
        for args in (("sql", "select count(*) from texts"), ("verify",)):
            code, out, err = cli("--lake", s3_lake, *args)
            assert code == 1 and "Traceback" not in err, out + err
        assert victim.read_bytes() == b"not lake data"
    finally:
        client.delete_object(Bucket=BUCKET, Key=planted)

"""emolake works outside its checkout: a wheel built from this tree carries the SQL views and the shipped texts, and,
installed into a fresh environment far from the checkout, runs the pipeline, the views and the Python API from an
empty directory."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "etl", "dashboards", "sql", "data")
UNSHIPPED = shutil.ignore_patterns("__pycache__", "*.egg-info", "_drafts", "_assign")


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Runs a command and returns its stdout; fails the test with its stderr when it exits non-zero."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built offline from a copy of the tree (setuptools writes build/ and *.egg-info beside its
    sources, which must not land in the checkout while other tests read it)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=UNSHIPPED)
        else:
            shutil.copy2(path, source / name)
    dist = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index"]
    run([*pip, "-q", "-w", str(dist)], cwd=source)
    return next(dist.glob("emolake-*.whl"))


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed in it. The heavy dependencies come from this
    interpreter's site-packages through a .pth path line: a path line runs none of the .pth files it names, so the
    editable finder that maps `etl` onto a checkout stays out, and the venv's own site-packages comes first."""
    root = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(root)], cwd=root)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)}))
    (purelib / "_emolake_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    python = str(root / "bin" / "python")
    # --ignore-installed: never touch the emolake this interpreter sees (it is outside the new venv anyway)
    install = [python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q"]
    run([*install, "--disable-pip-version-check", str(wheel)], cwd=root)
    return root


def test_the_wheel_ships_every_sql_file_and_every_shipped_text(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sql = {f"etl/_sql/{p.relative_to(ROOT / 'sql')}" for p in (ROOT / "sql").rglob("*.sql")}
    data = {
        f"etl/_data/{p.relative_to(ROOT / 'data')}"
        for p in (ROOT / "data").rglob("*")
        if p.is_file() and not any(part.startswith("_") for part in p.relative_to(ROOT / "data").parts)
    }
    assert len(sql) > 40 and "etl/_data/reference_corpus/emotional_story.jsonl" in data
    assert sql - names == set()
    assert data - names == set()
    assert {"etl/data/prompt_templates.toml", "etl/config/presets/tiny.toml", "emolake/__init__.py"} <= names
    assert "etl/resources.py" in names and "dashboards/app.py" in names


def test_the_installed_package_runs_the_pipeline_views_and_api_outside_the_checkout(venv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EMOLAKE_LAKE")}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}"}
    emolake = str(venv / "bin" / "emolake")
    work = tmp_path / "work"
    work.mkdir()
    run([emolake, "--lake", "L", "run", "all", "--preset", "tiny"], cwd=work, env=env)
    counted = run([emolake, "--lake", "L", "sql", "select count(*) as n from texts", "--format", "json"], work, env)
    assert json.loads(counted)[0]["n"] > 0
    assert run([emolake, "--lake", "L", "nearest", "I finally got the job and could not stop smiling"], work, env)
    probe = (
        "import json, emolake, etl; from etl import resources;"
        "print(json.dumps({'etl': etl.__file__, 'emolake': emolake.__file__, 'sql': str(resources.sql_dir()),"
        " 'data': str(resources.data_dir()), 'lake': repr(emolake.open('L'))}))"
    )
    found = json.loads(run([str(venv / "bin" / "python"), "-c", probe], work, env).splitlines()[-1])
    for key in ("etl", "emolake", "sql", "data"):
        assert Path(found[key]).resolve().is_relative_to(venv.resolve()), (key, found[key])
    assert "L" in found["lake"]

"""The layout keeps its promises: no import cycle between etl modules, every etl import down the declared layers
(etl/layers.py), no module past 400 lines, docs that name every module and every dashboard page."""

import ast
import re
from pathlib import Path

from etl import layers

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    return layers.module_name(path, ROOT)


def test_etl_has_no_import_cycle():
    """No loop between modules, nor between units (top-level packages and modules), counting every import: one inside
    a function too, since it ties the two modules together as firmly as one at the top."""
    graph = layers.graph(ROOT)
    assert layers.cycles(graph) == []
    assert layers.cycles(layers.units_graph(graph)) == []


def test_every_unit_has_one_layer():
    units = sorted({layers.unit(name) for name in layers.modules(ROOT)})
    declared = sorted("etl" if name == "etl" else f"etl.{name}" for layer in layers.LAYERS for name in layer)
    assert declared == units  # each once; none missing, none stale


def test_every_etl_import_goes_down_the_layers():
    """Each `etl` import, function-local ones included, names a module of its own unit or of a lower layer (no
    allow-list: heavy third-party imports stay function-local, and they are no etl module)."""
    assert layers.upward(layers.graph(ROOT)) == []


def test_the_checks_see_function_local_relative_and_upward_imports(tmp_path):
    """The checks can fail: a tree with an upward import inside a function and a cycle through a relative import."""
    for rel, text in {
        "etl/__init__.py": "",
        "etl/low/__init__.py": "",
        "etl/low/a.py": "def f():\n    from etl.high import b\n",
        "etl/low/c.py": "from . import d\n",
        "etl/low/d.py": "def g():\n    from .c import x\n",
        "etl/high/__init__.py": "",
        "etl/high/b.py": "from etl.low import a\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    graph = layers.graph(tmp_path)
    order = (("etl",), ("low",), ("high",))
    assert layers.upward(graph, order) == [("etl.low.a", 2, "etl.high.b")]
    assert layers.cycles(graph) == [["etl.high.b", "etl.low.a"], ["etl.low.c", "etl.low.d"]]
    assert layers.cycles(layers.units_graph(graph)) == [["etl.high", "etl.low"]]
    assert layers.upward(graph, (("etl",), ("low", "high"))) == [  # siblings of one layer do not import each other
        ("etl.high.b", 1, "etl.low.a"),
        ("etl.low.a", 2, "etl.high.b"),
    ]


def test_stages_and_commands_are_listed_not_found_by_name():
    """The runner and the CLI name every stage and command in an import the graph sees; nothing in etl loads an etl
    module from a string."""
    from etl import commands, runner

    stages = {p.stem for p in (ROOT / "etl" / "stages").glob("*.py") if p.stem != "__init__"}
    assert set(runner.STAGES) == stages
    assert [runner.stage_module(s).__name__ for s in runner.STAGES] == [f"etl.stages.{s}" for s in runner.STAGES]
    found = {p.stem for p in (ROOT / "etl" / "commands").glob("*.py") if not p.stem.startswith("_")}
    assert sorted(c.__name__.rpartition(".")[2] for c in commands.COMMANDS) == sorted(found)
    by_string = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "etl").rglob("*.py")
        if re.search(r"import_module\(f?[\"']etl|import_module\(f?[\"']\{__name__", p.read_text())
    ]
    assert by_string == []


def test_no_module_is_over_400_lines():
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text().splitlines())
        for d in ("etl", "dashboards", "bench", "tools")
        for p in (ROOT / d).rglob("*.py")
    }
    assert {path: n for path, n in sizes.items() if n > 400} == {}


def layout_words() -> dict[str, set[str]]:
    """The words of docs/layout.md's `etl/` tree, per top-level package ("" for etl's own modules)."""
    block = (ROOT / "docs" / "layout.md").read_text().split("```\n")[1]
    out: dict[str, set[str]] = {"": set()}
    package = ""
    for line in block.splitlines()[1:]:
        if line.strip() and not line.startswith("  "):
            break  # the tree after etl/ (sql/, dashboards/, ...)
        entry = line.split()[0] if line.strip() else ""
        if line.startswith("  ") and not line.startswith("   "):
            package = entry.rstrip("/") if entry.endswith("/") else ""
        out.setdefault(package, set()).update(re.findall(r"[a-z_0-9]+", line))
    return out


def test_docs_layout_names_every_module():
    words = layout_words()
    unnamed = []
    for path in sorted((ROOT / "etl").rglob("*.py")):
        parts = path.relative_to(ROOT / "etl").with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts:
            continue
        package = parts[0] if len(parts) > 1 else ""
        if parts[-1] not in words.get(package, set()) and parts[-1] not in words:
            unnamed.append(str(path.relative_to(ROOT)))
    assert unnamed == []


def test_the_readme_names_every_dashboard_page():
    from dashboards.pages import modules

    readme = (ROOT / "README.md").read_text().replace("\n", " ")
    listed = re.search(r"8050/ for the (.+?) pages", readme).group(1)
    named = {name.strip() for name in re.split(r", | and ", listed)}
    assert named == {page.TITLE.lower() if page.TITLE != "SQL" else "SQL" for page in modules()}


def test_only_the_model_package_imports_torch():
    importers = []
    for path in (ROOT / "etl").rglob("*.py"):
        names = {
            alias.name.split(".")[0]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
        }
        if "torch" in names and "model" not in path.relative_to(ROOT).parts[:2]:
            importers.append(str(path.relative_to(ROOT)))
    assert importers == []


def test_pyproject_lists_every_package_and_maps_emolake_onto_etl_api():
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        module_name(p.parent / "__init__.py") for d in ("etl", "dashboards") for p in (ROOT / d).rglob("__init__.py")
    }
    shipped = {"etl._sql": "sql", "etl._data": "data"}  # top-level folders installed inside etl (etl/resources.py)
    assert setuptools["package-dir"] == {"emolake": "etl/api", **shipped}
    assert set(setuptools["packages"]) == found | {"emolake", *shipped}

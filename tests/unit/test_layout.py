"""The layout keeps its promises: no import cycle between etl modules, no module past 400 lines, docs that name every
module and every dashboard page."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path, known: set[str]) -> set[str]:
    """etl modules a module imports when it is imported (function-level imports run later and cannot cycle)."""
    out = set()
    for node in ast.parse(path.read_text()).body:
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        out |= {name for name in names if name in known}
    return out


def test_etl_has_no_import_cycle():
    paths = {module_name(p): p for p in (ROOT / "etl").rglob("*.py")}
    graph = {name: top_level_imports(path, set(paths)) - {name} for name, path in paths.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target] if target in stack else [name, target])
            elif target not in state:
                visit(target, [*stack, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    # A package's __init__ importing its own submodules is how packages re-export, not a cycle.
    real = [c for c in cycles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c)]
    assert real == []


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
        module_name(p.parent / "__init__.py")
        for d in ("etl", "dashboards")
        for p in (ROOT / d).rglob("__init__.py")
        if "api" not in p.relative_to(ROOT).parts
    }
    shipped = {"etl._sql": "sql", "etl._data": "data"}  # top-level folders installed inside etl (etl/resources.py)
    assert setuptools["package-dir"] == {"emolake": "etl/api", **shipped}
    assert set(setuptools["packages"]) == found | {"emolake", *shipped}

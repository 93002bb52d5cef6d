"""The layer order of etl's packages, and the import graph that keeps it.

A unit is a top-level package of `etl` (`etl.lake`) or a top-level module (`etl.runner`). Every `etl` import in a
unit, one inside a function included, names its own unit or a unit of a lower layer; units of one layer do not import
each other. tests/unit/test_layout.py holds the code to that; `python -m etl.layers` prints the import cycles and the
imports that break the order. Only the standard library here: the test and the report parse source, import nothing.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LAYERS: tuple[tuple[str, ...], ...] = (
    ("etl", "errors", "progress", "layers"),  # "etl": the package's own __init__ (__version__)
    ("resources",),
    ("catalog",),
    ("config",),
    ("lake",),
    ("model",),
    ("executors",),
    ("probes",),
    ("evaluation", "generation", "steering"),
    ("report",),
    ("stages",),
    ("runner", "service"),
    ("api",),
    ("commands",),
    ("cli",),
    ("__main__",),
)
"""Lowest first: a unit may import its own modules and the units of the layers before its own (docs/layout.md)."""

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of etl by dotted name (a package by its own name)."""
    return {module_name(path, root): path for path in sorted((root / "etl").rglob("*.py"))}


def unit(module: str) -> str:
    """The unit a module belongs to: `etl.lake.verify` -> `etl.lake`, `etl.runner` -> `etl.runner`."""
    return ".".join(module.split(".")[:2])


def imports(path: Path, name: str, known: set[str]) -> dict[str, int]:
    """The etl modules a module imports anywhere in its body, function-local imports included, with the first line
    of each: relative imports resolved, `from package import module` counted as the module, `from module import
    name` as the module."""

    def owner(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str | None] = []
        if isinstance(node, ast.Import):
            targets = [owner(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else owner(base) for alias in node.names
            ]
        for target in targets:
            if target and target != name:
                out.setdefault(target, node.lineno)
    return out


def graph(root: Path = ROOT) -> dict[str, dict[str, int]]:
    """module -> {imported etl module: line of its first import}."""
    found = modules(root)
    return {name: imports(path, name, set(found)) for name, path in found.items()}


def units_graph(modules_graph: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {unit(name): set() for name in modules_graph}
    for name, targets in modules_graph.items():
        out[unit(name)] |= {unit(target) for target in targets} - {unit(name)}
    return out


def cycles(edges: dict[str, set[str]] | dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted: the groups that import
    each other round in a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(edges) + 100))
    try:
        for node in sorted(edges):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(out)


def layer_of(name: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> int | None:
    short = unit(name).removeprefix("etl.").removeprefix("etl") or "etl"
    return next((i for i, layer in enumerate(layers) if short in layer), None)


def upward(
    modules_graph: dict[str, dict[str, int]], layers: tuple[tuple[str, ...], ...] = LAYERS
) -> list[tuple[str, int, str]]:
    """(module, line, imported module) for every import of another unit that is not of a lower layer."""
    out = []
    for name, targets in sorted(modules_graph.items()):
        for target, line in sorted(targets.items()):
            if unit(target) == unit(name):
                continue
            source, dest = layer_of(name, layers), layer_of(target, layers)
            if source is None or dest is None or dest >= source:
                out.append((name, line, target))
    return out


def report(root: Path = ROOT) -> str:
    found = graph(root)
    module_cycles = cycles(found)
    unit_cycles = cycles(units_graph(found))
    bad = upward(found)
    unplaced = sorted({unit(name) for name in found if layer_of(name) is None})
    lines = [f"{len(found)} modules, {sum(map(len, found.values()))} etl imports"]
    lines.append(f"module cycles: {len(module_cycles)}")
    lines += [f"  {' <-> '.join(c)}" for c in module_cycles]
    lines.append(f"unit cycles: {len(unit_cycles)}")
    lines += [f"  {' <-> '.join(c)}" for c in unit_cycles]
    lines.append(f"units in no layer: {len(unplaced)}" + (f" ({', '.join(unplaced)})" if unplaced else ""))
    lines.append(f"imports against the layer order: {len(bad)}")
    lines += [f"  {name}:{line} -> {target}" for name, line, target in bad]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())

"""The app's modules import each other without a cycle -- counting imports inside functions
too, which only hide a cycle. Services enqueue their jobs by dotted path (app/jobs.py), so
no ``services <-> tasks`` pair can form; shared helpers live in the layer that owns them.

Package ``__init__`` modules are left out: a blueprint package imports its routes and the
routes import ``bp`` back, which is how Flask blueprints are wired, not a layering cycle."""
from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules() -> dict[str, Path]:
    out = {}
    for path in (ROOT / "app").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name | ast.Attribute) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(tree: ast.AST, modules: dict[str, Path]) -> set[str]:
    names: set[str] = set()
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
            for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                names.add(full if full in modules else node.module)
    return {n for n in names if n in modules}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        if path.name == "__init__.py":
            continue
        deps = _imported(ast.parse(path.read_text()), modules)
        graph[name] = {d for d in deps if modules[d].name != "__init__.py" and d != name}
    return graph


def test_the_graph_sees_real_imports():
    graph = import_graph()
    assert "app.alerts.services" in graph["app.alerts.tasks"]
    assert "app.jobs" in graph["app.alerts.hooks"]


def test_no_import_cycle_in_the_app():
    try:
        tuple(TopologicalSorter(import_graph()).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_no_services_module_imports_its_tasks():
    graph = import_graph()
    offenders = [(m, d) for m, deps in graph.items() for d in deps
                 if m.endswith(".services") and d.endswith(".tasks")]
    assert offenders == []

"""The shape of the house, checked: data flows one way, and SQL lives in repositories.

- No cycle between packages: ``monitoring``'s subpackages and top-level modules,
  ``devices``, ``simulators``, ``evaluation``, ``monitoring_cli`` and ``benchmarks``.
- The service (``monitoring``) imports neither the simulators, nor offline
  evaluation, nor the command line above it; ``devices`` fits on a gateway
  (nothing of the service, nothing heavy); the simulators drive devices only.
- In ``monitoring``, only repositories (``*repository.py``) and ``storage``
  build queries or run them on a session.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("monitoring", "devices", "simulators", "evaluation", "monitoring_cli", "benchmarks")
HEAVY = ("fastapi", "sqlalchemy", "asyncpg", "river", "monitoring", "simulators")
QUERY_BUILDERS = {"select", "insert", "update", "delete", "text", "func", "or_", "and_", "exists", "case"}
SESSION_QUERIES = {"execute", "scalar", "scalars", "get", "stream", "stream_scalars", "merge", "refresh"}


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(p for p in parts if p != "__init__"), path


def _imports(path: Path) -> Iterator[tuple[str, list[str], int]]:
    """(module, imported names, line) of every absolute import in the file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno


def node_of(module: str) -> str:
    """The node of a module: a subpackage or top-level module of monitoring, else its package."""
    parts = module.split(".")
    if parts[0] == "monitoring" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def _graph() -> dict[str, dict[str, list[str]]]:
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for package in FIRST_PARTY:
        for module, path in _modules(package):
            source = node_of(module)
            for imported, _, line in _imports(path):
                if imported.split(".")[0] in FIRST_PARTY and node_of(imported) != source:
                    edges[source][node_of(imported)].append(f"{path.relative_to(ROOT)}:{line}")
    return edges


def _cycles(edges: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def test_no_package_imports_back_up_the_flow() -> None:
    edges = _graph()
    cycles = _cycles(edges)
    described = [
        f"{a} -> {b}: {edges[a][b][:3]}"
        for component in cycles
        for a in component
        for b in component
        if b in edges[a]
    ]
    assert cycles == [], "\n".join(described)


def test_the_cycle_check_finds_a_cycle() -> None:
    edges: dict[str, dict[str, list[str]]] = {
        "a": {"b": ["x"]},
        "b": {"c": ["y"]},
        "c": {"a": ["z"]},
        "d": {"a": []},
    }
    assert _cycles(edges) == [["a", "b", "c"]]


def _forbidden(package: str, prefixes: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for _, path in _modules(package)
        for imported, _, line in _imports(path)
        if imported.split(".")[0] in prefixes
    ]


def test_the_service_does_not_import_simulators_evaluation_or_its_command_line() -> None:
    assert (
        _forbidden("monitoring", ("simulators", "evaluation", "monitoring_cli", "benchmarks", "tests")) == []
    )


def test_devices_fit_on_a_gateway_and_simulators_only_drive_devices() -> None:
    assert _forbidden("devices", HEAVY) == []
    assert _forbidden("simulators", ("monitoring", "evaluation", "monitoring_cli")) == []


def _sql_outside_repositories() -> list[str]:
    found = []
    for module, path in _modules("monitoring"):
        if path.name.endswith("repository.py") or module.startswith("monitoring.storage"):
            continue
        for imported, names, line in _imports(path):
            builders = QUERY_BUILDERS.intersection(names)
            if imported.split(".")[0] == "sqlalchemy" and builders:
                found.append(
                    f"{path.relative_to(ROOT)}:{line} builds queries ({', '.join(sorted(builders))})"
                )
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SESSION_QUERIES
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "session"
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} runs session.{node.func.attr}")
    return found


def test_sql_lives_in_repositories() -> None:
    assert _sql_outside_repositories() == []

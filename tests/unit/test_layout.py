"""The shape of the repository: no import circle, small layer modules, thin handlers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.unit
ROOTS = {"shared": REPO / "shared", "": REPO}
PACKAGES = ("shared/aistudios_export", "functions", "local", "tests", "benchmarks")
MAX_LAYER_MODULE_LINES = 300
MAX_HANDLER_LINES = 40


def _module_name(path: Path) -> str:
    relative = path.relative_to(REPO / "shared" if path.is_relative_to(REPO / "shared") else REPO)
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if ".venv" not in path.parts and ".aws-sam" not in path.parts:
                found[_module_name(path)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Repository modules that `name` imports, TYPE_CHECKING blocks and function bodies included."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        else:
            continue
        out |= {t for t in targets if t in known and t != name}
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_anywhere() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    assert graph["aistudios_export.workflow.start"], "the import graph should see the layer's imports"
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layer_modules_stay_small() -> None:
    for path in (REPO / "shared" / "aistudios_export").glob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_LAYER_MODULE_LINES, f"{path.name} has {lines} lines"


def test_handlers_are_doorways() -> None:
    handlers = sorted((REPO / "functions").glob("*/app.py"))
    assert handlers
    for path in handlers:
        text = path.read_text()
        lines = len(text.splitlines())
        assert lines < MAX_HANDLER_LINES, f"{path.parent.name} has {lines} lines"
        assert ".store" not in text, f"{path.parent.name} reaches into the store"
        assert "json_response(4" not in text, f"{path.parent.name} writes an error body by hand"
        assert "json_response(5" not in text, f"{path.parent.name} writes an error body by hand"

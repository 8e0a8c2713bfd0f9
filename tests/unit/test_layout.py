"""The shape of the repository: no import circle (between modules, nor between the layer's rooms),
small modules and functions, rooms by concern, thin handlers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.unit
ROOTS = {"shared": REPO / "shared", "": REPO}
PACKAGES = ("shared/aistudios_export", "functions", "local", "tests", "benchmarks", "docgen", "cli")
LAYER = REPO / "shared" / "aistudios_export"
MAX_MODULE_LINES = 300
SMALL_MODULE_FOLDERS = ("shared", "local", "cli", "benchmarks", "docgen")
MAX_HANDLER_LINES = 40
MAX_LAYER_FUNCTION_LINES = 60
MAX_LAYER_TOP_LEVEL_ENTRIES = 20
# The composition root: builds every adapter, lazily; every room may take it as a parameter.
COMPOSITION_ROOT = "aistudios_export.adapters"


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
    graph = _graph()
    assert graph["aistudios_export.workflow.start"], "the import graph should see the layer's imports"
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _room(module: str) -> str:
    """The layer's room a module is in: its subpackage, or itself at the top."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_the_layers_rooms_form_no_circle() -> None:
    """Between rooms too (a subpackage is one room), the composition root aside: a room may import
    a room below it, never one that imports it back."""
    rooms: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        if not module.startswith("aistudios_export") or module == COMPOSITION_ROOT:
            continue
        rooms.setdefault(_room(module), set()).update(
            _room(t) for t in targets if t.startswith("aistudios_export") and t != COMPOSITION_ROOT
        )
    for room, targets in rooms.items():
        targets.discard(room)
    assert {"aistudios_export.workflow", "aistudios_export.delivery"} <= set(rooms)
    assert _cycles(rooms) == []


def test_the_poll_does_not_walk_through_the_webhook_receiver() -> None:
    graph = _graph()
    seen, todo = set(), ["functions.poll_export.app"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    assert "aistudios_export.workflow.poll" in seen
    assert not {m for m in seen if m.startswith("aistudios_export.webhooks")}


def test_modules_stay_small() -> None:
    for folder in SMALL_MODULE_FOLDERS:
        for path in (REPO / folder).rglob("*.py"):
            if ".venv" in path.parts or "__pycache__" in path.parts:
                continue
            lines = len(path.read_text().splitlines())
            assert lines <= MAX_MODULE_LINES, f"{path.relative_to(REPO)} has {lines} lines"


def test_the_layer_has_few_rooms_each_with_an_empty_init() -> None:
    entries = [p for p in LAYER.iterdir() if p.name != "__pycache__"]
    assert len(entries) <= MAX_LAYER_TOP_LEVEL_ENTRIES, sorted(p.name for p in entries)
    subpackages = [p for p in entries if p.is_dir()]
    assert subpackages
    for package in subpackages:
        # empty: importing one module of a room must not import the room's other modules
        assert (package / "__init__.py").read_text() == "", package.name


def test_no_function_in_the_layer_is_long() -> None:
    long = []
    for path in LAYER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_LAYER_FUNCTION_LINES:
                    long.append(f"{path.relative_to(LAYER)}:{node.name} ({lines} lines)")
    assert long == []


def test_domain_code_talks_to_typed_adapters() -> None:
    """Only the composition root touches raw AWS clients; the rest calls the adapter a call belongs to."""
    raw = re.compile(r"adapters\.(s3|_s3|_sfn|_sqs|_sns|_events)\b")
    offenders = [
        str(path.relative_to(LAYER))
        for path in LAYER.rglob("*.py")
        if path.name != "adapters.py" and raw.search(path.read_text())
    ]
    assert offenders == []


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


def test_the_module_table_follows_the_layer() -> None:
    """docs/how-it-works.md lists every module of the layer, room by room, and nothing that is gone."""
    page = (REPO / "docs" / "how-it-works.md").read_text()
    table = page.split("| module | job |", 1)[1].split("\n\n", 1)[0]
    listed = {match for line in table.splitlines() for match in re.findall(r"^\| `([\w/]+\.py)` \|", line)}
    actual = {
        path.relative_to(LAYER).as_posix()
        for path in LAYER.rglob("*.py")
        if path.name != "__init__.py" or path.parent == LAYER
    }
    assert listed == actual, {"not listed": sorted(actual - listed), "gone": sorted(listed - actual)}

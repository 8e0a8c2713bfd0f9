"""README.md's state machine diagram is generated from the ASL and kept in sync."""

from __future__ import annotations

import json
import re

import pytest

from docgen.diagram import ASL, BEGIN, END, README, main, mermaid, node_id, updated_readme

pytestmark = pytest.mark.unit


def test_the_readme_diagram_is_the_one_the_asl_gives() -> None:
    assert main(["--check"]) == 0, "run `make diagram`"


def test_every_state_and_transition_is_drawn_between_declared_nodes() -> None:
    definition = json.loads(ASL.read_text())
    chart = mermaid(definition)
    declared = set(re.findall(r"^\s+(s_\w+)[\[\(\{]", chart, flags=re.M))
    assert declared >= {node_id(name) for name in definition["States"]}
    for source, target in re.findall(r"^\s+(s_\w+) -[.-]*>(?:\|[^|]*\|)? (s_\w+)$", chart, flags=re.M):
        assert {source, target} <= declared, (source, target)
    nexts = [s["Next"] for s in definition["States"].values() if "Next" in s]
    assert all(f"--> {node_id(n)}" in chart for n in nexts)


def test_a_changed_state_machine_makes_the_check_fail() -> None:
    definition = json.loads(ASL.read_text())
    definition["States"]["Added for the test"] = {"Type": "Succeed"}
    readme = README.read_text()
    start, end = readme.index(BEGIN), readme.index(END)
    assert mermaid(definition) not in readme[start:end]
    assert updated_readme(readme) == readme  # today's README is up to date

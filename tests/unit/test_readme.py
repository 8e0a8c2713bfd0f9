"""The README documents every parameter and output of template.yaml (in its one parameters table)."""

from __future__ import annotations

import re

import pytest

from tests.helpers import REPO
from tests.unit.aws_resources import TEMPLATE

pytestmark = pytest.mark.unit
README = (REPO / "README.md").read_text()


def _table(heading: str) -> str:
    section = README[README.index(heading) :]
    return section[: section.index("\n## ")]


def test_every_parameter_is_in_the_parameters_table() -> None:
    table = _table("### Parameters")
    rows = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`(\w+)`", line.split("|")[1])
    }
    assert set(TEMPLATE["Parameters"]) <= rows, sorted(set(TEMPLATE["Parameters"]) - rows)


def test_every_output_is_listed() -> None:
    outputs = _table("### Parameters").split("Outputs:", 1)[1]
    assert all(f"`{name}`" in outputs for name in TEMPLATE["Outputs"]), sorted(
        n for n in TEMPLATE["Outputs"] if f"`{n}`" not in outputs
    )

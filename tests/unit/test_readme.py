"""The README is the front door and links every page of docs/; the pages' tables follow template.yaml.

docs/deploying.md documents every parameter and output of template.yaml (in its one parameters
table), docs/operations.md every alarm, docs/cli.md every exit code; every relative link in the
README and in docs/*.md leads to a file (and, for a page, a heading) that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local.stack.template import load_template, resources_of_type
from tests.helpers import REPO

pytestmark = pytest.mark.unit
TEMPLATE = load_template()
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _without_code(text: str) -> list[str]:
    """The lines of a markdown text outside its fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def _section(path: Path, heading: str) -> str:
    """From `heading` (a whole line) to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = path.read_text().splitlines()
    start = lines.index(heading)
    body, fenced = [], False
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            break
        body.append(line)
    return "\n".join(body)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in _without_code(path.read_text()) if re.match(r"#+ ", line)}


def _links(path: Path) -> list[str]:
    return [link for line in _without_code(path.read_text()) for link in LINK.findall(line)]


def test_every_parameter_is_in_the_deploying_pages_parameters_table() -> None:
    table = _section(DOCS / "deploying.md", "## Parameters")
    rows = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`(\w+)`", line.split("|")[1])
    }
    assert set(TEMPLATE["Parameters"]) <= rows, sorted(set(TEMPLATE["Parameters"]) - rows)


def test_every_output_is_listed_on_the_deploying_page() -> None:
    outputs = _section(DOCS / "deploying.md", "## Parameters").split("Outputs:", 1)[1]
    assert all(f"`{name}`" in outputs for name in TEMPLATE["Outputs"]), sorted(
        n for n in TEMPLATE["Outputs"] if f"`{n}`" not in outputs
    )


def test_every_alarm_is_in_the_operations_pages_alarm_table() -> None:
    table = _section(DOCS / "operations.md", "## Alarms and dashboard")
    rows = set(re.findall(r"^\| `([\w-]+)` \|", table, flags=re.MULTILINE))
    alarms = {
        alarm["Properties"]["AlarmName"]["Fn::Sub"].removeprefix("${AWS::StackName}-")
        for alarm in resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm").values()
    }
    assert alarms, "template.yaml declares no alarm"
    assert rows == alarms, (sorted(alarms - rows), sorted(rows - alarms))


def test_every_exit_code_is_in_the_cli_pages_table() -> None:
    from aistudios_export_cli.exits import Exit

    table = _section(DOCS / "cli.md", "# The CLI").split("| exit code | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)}
    assert rows == {int(code) for code in Exit}


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines: give the new material a page in docs/"


def test_the_readme_links_every_docs_page() -> None:
    linked = {(README.parent / link.split("#", 1)[0]).resolve() for link in _links(README)}
    assert PAGES
    assert not [page.name for page in PAGES if page.resolve() not in linked]


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for link in _links(path):
        if re.match(r"[a-z]+:", link):  # https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        missing_anchor = anchor and file.suffix == ".md" and file.exists() and anchor not in _anchors(file)
        if not file.exists() or missing_anchor:
            broken.append(link)
    assert not broken, f"{path.relative_to(REPO)}: {broken}"

"""Each permission `make demo`'s export uses is needed: take it out of template.yaml, and the demo
fails, its function's log naming the access error.

    PYTHONPATH=shared:. .venv/bin/python -m local.stack.iam.permission_check [--only Function:action]

It runs the demo once to record which inline-policy permissions the export used (iam-calls.jsonl),
then, for each (role, statement, action), runs it again in a copy of the repository whose template
lacks just that action, and reports whether the demo failed and where the refusal was logged.
Slow (a demo per permission, ~15 s each): run by hand, not in CI."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..template import REPO, load_template

INLINE = re.compile(r"^(?P<principal>\w+?)RolePolicy(?P<policy>\d+)#(?P<statement>\d+)$")
REFUSED = ("AccessDenied", "AuthorizationError", "not authorized", "Forbidden", "(403)")


def _copy_repo(into: Path) -> Path:
    git = shutil.which("git") or "/usr/bin/git"
    files = subprocess.run([git, "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)  # noqa: S603
    for name in files.stdout.splitlines():
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, target)
    return into


def _demo(repo: Path) -> tuple[int, str]:
    env = {"PYTHONPATH": "shared:.", "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "local", "demo"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run.returncode, run.stdout + run.stderr


def used_permissions(repo: Path) -> set[tuple[str, int, int, str]]:
    """(principal, policy, statement, action) of every inline permission an allowed call needed."""
    used = set()
    for line in (repo / ".local" / "logs" / "iam-calls.jsonl").read_text().splitlines():
        call = json.loads(line)
        for statement in call["statements"] if call["allowed"] else []:
            match = INLINE.match(statement)
            if match:
                used.add((match["principal"], int(match["policy"]), int(match["statement"]), call["action"]))
    return used


def _actions(statement: Any) -> list[str]:
    if "Fn::If" in statement:
        statement = statement["Fn::If"][1]
    action = statement.get("Action", []) if isinstance(statement, dict) else []
    return action if isinstance(action, list) else [action]


def without(template: dict[str, Any], principal: str, policy: int, index: int, action: str) -> dict[str, Any]:
    """The template with `action` taken out of one statement (the statement gone if it was its last).

    `index` counts the statements of the role as deployed locally, where a statement under a false
    `!If` is gone: the template's own statement is the one granting `action` at that position."""
    policies = template["Resources"][principal]["Properties"]["Policies"]
    if "Statement" not in policies[policy]:  # a SAM policy template (LambdaInvokePolicy, ...): all of it
        del policies[policy]
        return template
    statements = policies[policy]["Statement"]
    candidates = [i for i, s in enumerate(statements) if action in _actions(s)]
    if len(candidates) > 1:
        candidates = [i for i in candidates if i - sum("Fn::If" in s for s in statements[:i]) == index]
    [position] = candidates
    statement = statements[position]
    if "Fn::If" in statement:
        statement = statement["Fn::If"][1]
    left = [a for a in _actions(statement) if a != action]
    if left:
        statement["Action"] = left
    else:
        del statements[position]
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="one permission, as Function:action")
    parser.add_argument("--start-at", help="the first role to check (in alphabetical order)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        repo = _copy_repo(Path(tmp) / "repo")
        code, output = _demo(repo)
        if code != 0:
            print(output[-2000:])
            print("the demo fails with the template as written")
            return 1
        used = sorted(used_permissions(repo))
        original = load_template()
        failures = 0
        for principal, policy, index, action in used:
            if (args.only and args.only != f"{principal}:{action}") or (
                args.start_at and principal < args.start_at
            ):
                continue
            changed = without(json.loads(json.dumps(original)), principal, policy, index, action)
            (repo / "template.yaml").write_text(json.dumps(changed, indent=1))
            shutil.rmtree(repo / ".local", ignore_errors=True)
            code, output = _demo(repo)
            logs = repo / ".local" / "logs"
            named = (
                sorted(
                    p.name
                    for p in logs.glob("*.log")
                    if any(word in p.read_text(errors="replace") for word in REFUSED)
                )
                if logs.is_dir()
                else []
            )
            ok = code != 0 and (bool(named) or principal == "ExportStateMachine")
            failures += not ok
            print(
                f"{'ok ' if ok else 'MISS'} {principal} {action}: demo exit {code}; refusal in {named or 'no log'}"
            )
        print(f"{len(used)} permissions used by the demo; {failures} not needed by it")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

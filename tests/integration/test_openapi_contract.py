"""The API's contract, checked by a tool nobody here wrote: schemathesis generates requests from
docs/openapi.json (valid and invalid, undeclared methods, sequences that follow the answers' links)
and holds every answer of a local deployment to the document.

Every check runs but the ones about authentication, which only a deployed stack can pass: API Gateway
verifies each request's SigV4 signature (IAM authorization), the local API does not. So
- `ignored_auth` (a request without a signature, or with a wrong one, must be refused) and
- `object_level_authorization` (one principal's exports hidden from another) are excluded, and
- the `sigv4` scheme's Authorization header is not generated (--generation-with-security-parameters
  false): else every request sent without one counts as schema-violating data the API accepted.
What remains of authentication is held here: a method a route has not must be API Gateway's 403
MISSING_AUTHENTICATION_TOKEN in the API's shape (schemathesis_hooks.status_declared_by_the_route),
and the few answers accepted that a check would report are in schemathesis_hooks.filter_failure,
each with its reason.

The run is bounded: MAX_EXAMPLES per operation and phase, a fixed seed (drop --seed to explore
further, `SCHEMATHESIS_SEED=...` to try another), and TIME_BOUND seconds at most."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 25
TIME_BOUND = 150
SEED = os.environ.get("SCHEMATHESIS_SEED", "20260719")
AUTHENTICATION_CHECKS = "ignored_auth,object_level_authorization"
# Every operation the document declares (schemathesis reports how many it tested).
OPERATIONS = sum(
    method in {"get", "put", "post", "delete", "patch"}
    for path in json.loads((REPO / "docs" / "openapi.json").read_text())["paths"].values()
    for method in path
)


def test_every_answer_is_the_one_the_document_declares(api: Api, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{api.url}/openapi.json",  # the document, with this deployment as its server
        "--checks=all",
        f"--exclude-checks={AUTHENTICATION_CHECKS}",
        "--generation-with-security-parameters=false",
        f"--max-examples={MAX_EXAMPLES}",
        f"--seed={SEED}",
        "--workers=1",
        "--request-timeout=30",
        "--generation-database=none",
        "--no-color",
        "--output-truncate=false",
    ]
    env = os.environ | {
        "SCHEMATHESIS_HOOKS": "tests.integration.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "shared")]),
    }
    started = time.monotonic()
    run = subprocess.run(  # noqa: S603 - this environment's schemathesis, on our own deployment
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIME_BOUND, check=False
    )
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    print(output[-6000:])
    assert run.returncode == 0, output
    assert f"Tested: {OPERATIONS}" in output, output
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None, output
    assert int(generated.group(1)) >= OPERATIONS * MAX_EXAMPLES, output
    print(f"schemathesis: {generated.group(1)} test cases in {elapsed:.0f} s (seed {SEED})")

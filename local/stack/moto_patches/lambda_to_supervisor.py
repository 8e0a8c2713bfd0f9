"""Lambda invocations run in the local stack's handler workers.

moto runs a Lambda function's code in a Docker container (its `use_docker` off, it answers a canned
result without running it); the local stack runs the handlers in its own worker processes, no Docker.

The patch replaces moto's Docker step, and only it, with a call into the function supervisor's
workers (local/stack/functions.py): the rest of moto's Lambda backend (functions, versions, event
source mappings, Step Functions' Lambda tasks) stays moto's. Unlike the other patches it is applied
again by each deployment, which brings its own supervisor."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..functions import FunctionSupervisor


def apply(supervisor: FunctionSupervisor) -> None:
    from moto.awslambda.models import LambdaFunction

    def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
        if isinstance(event, str | bytes):
            event = json.loads(event or "{}")
        result, error = supervisor.invoke(fn.function_name, event if event is not None else {})
        if error is not None:
            return json.dumps(error), True, ""
        return json.dumps(result), False, ""

    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign,assignment]

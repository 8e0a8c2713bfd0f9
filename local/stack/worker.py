"""One Lambda "container": loads one function's handler and serves invocations over a pipe.

Started by `functions.FunctionPool` with exactly that function's environment, so no module state is
shared between functions (or between concurrent invocations of the same function). Requests arrive
as JSON lines on stdin; each answer is one JSON line on the original stdout, while anything the
handler prints goes to stderr (the function's log). An error the handler does not catch is logged
there as Lambda's runtime logs it (`[ERROR] <type>: <message>` and the traceback), so that the log
names it (an AccessDenied from the function's role, say) even when the handler does not.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
import uuid
from typing import Any


class Context:
    """The subset of the Lambda context object handlers and Powertools use."""

    def __init__(self, deadline: float, request_id: str) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    code_dir, handler_spec = sys.argv[1], sys.argv[2]
    module_name, function_name = handler_spec.rsplit(".", 1)
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path[:0] = [code_dir, *filter(None, os.environ.get("LAMBDA_LAYER_PATHS", "").split(os.pathsep))]
    handler: Any = None
    init_error: dict[str, Any] | None = None
    try:
        spec = importlib.util.spec_from_file_location(
            module_name, os.path.join(code_dir, f"{module_name}.py")
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {handler_spec} from {code_dir}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        handler = getattr(module, function_name)
    except Exception as exc:  # noqa: BLE001 - an init error is reported on every invocation, as Lambda does
        init_error = _error(exc)
        _log_error(init_error)
    timeout = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "30"))
    out.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        if init_error is not None:
            out.write(json.dumps({"error": init_error}) + "\n")
            continue
        context = Context(time.monotonic() + timeout, request.get("requestId") or str(uuid.uuid4()))
        try:
            result = handler(request["event"], context)
            out.write(json.dumps({"result": result}, default=str) + "\n")
        except Exception as exc:  # noqa: BLE001 - reported to the caller as Lambda does
            error = _error(exc)
            _log_error(error)
            out.write(json.dumps({"error": error}) + "\n")


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _log_error(error: dict[str, Any]) -> None:
    """What Lambda's Python runtime writes to the log for an unhandled error (text log format)."""
    trace = "".join(error["stackTrace"])
    print(
        f"[ERROR] {error['errorType']}: {error['errorMessage']}\nTraceback (most recent call last):\n{trace}",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    main()

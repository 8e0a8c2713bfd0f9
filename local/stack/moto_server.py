"""AWS on loopback: moto in server mode, with Lambda invocations routed to the function supervisor."""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

import requests

from .functions import FunctionSupervisor

# moto accepts any credentials; these fill the gaps so no real ones are ever picked up.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class MotoServer:
    """moto's threaded server, started from a clean slate, running state machines for real."""

    def __init__(self, supervisor: FunctionSupervisor, port: int = 0) -> None:
        self._supervisor = supervisor
        self._port = port
        self._server: Any = None

    def start(self) -> str:
        """Start serving; returns the endpoint URL."""
        from moto.core.config import default_user_config
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        default_user_config["stepfunctions"]["execute_state_machine"] = True
        # Keep moto's regular Lambda backend: its Docker step is replaced by the supervisor below.
        default_user_config["lambda"]["use_docker"] = True
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        for name, value in FAKE_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        # moto's backends live in this process: start every deployment from a clean slate.
        requests.post(f"http://{host}:{port}/moto-api/reset", timeout=10).raise_for_status()
        # moto's Step Functions executor calls Lambda back through the server on this port.
        os.environ["MOTO_PORT"] = str(port)
        _route_lambda_to(self._supervisor)
        _stop_aborts_callback_waits()
        _dynamodb_writes_are_atomic()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def _dynamodb_writes_are_atomic() -> None:
    """DynamoDB applies each write, a transaction included, atomically. moto does not when callers
    write at once: a transaction checks its conditions and writes without isolation, and when one
    fails it restores whole tables from a copy taken before, undoing other callers' writes made in
    between (webhook receivers and armed waits write to the exports table while starts contend for
    a project's lease). One lock around moto's write operations makes each atomic, as on AWS."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_local_stack_locked", False):
        return
    lock = threading.RLock()  # a transaction's own puts and updates take it again
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    DynamoDBBackend._local_stack_locked = True  # type: ignore[attr-defined]


def _stop_aborts_callback_waits() -> None:
    """StopExecution aborts an execution at once on AWS, whatever state it is in. moto's executor
    only notices a stop between states, so an execution stopped inside a `.waitForTaskToken` task
    (the webhook-interruptible wait) would sit out the task's timeout and then end FAILED: here a stop
    also wakes the execution's waiting callbacks, and no failure after a stop replaces ABORTED (the
    woken task leaves one TaskTimedOut event before ExecutionAborted in the history)."""
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    if getattr(Environment, "_local_stack_patched", False):
        return
    set_stop, set_error = Environment.set_stop, Environment.set_error

    def stop(self: Any, stop_date: Any, cause: str | None, error: str | None) -> None:
        set_stop(self, stop_date=stop_date, cause=cause, error=error)
        for endpoint in list(self.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()

    def fail(self: Any, error: Any) -> None:
        if not isinstance(self._program_state, ProgramStopped):
            set_error(self, error)

    Environment.set_stop = stop  # type: ignore[method-assign]
    Environment.set_error = fail  # type: ignore[method-assign]
    Environment._local_stack_patched = True  # type: ignore[attr-defined]


def _route_lambda_to(supervisor: FunctionSupervisor) -> None:
    """Replace moto's Docker-based Lambda execution with a call into our workers."""
    from moto.awslambda.models import LambdaFunction

    def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
        if isinstance(event, str | bytes):
            event = json.loads(event or "{}")
        result, error = supervisor.invoke(fn.function_name, event if event is not None else {})
        if error is not None:
            return json.dumps(error), True, ""
        return json.dumps(result), False, ""

    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign,assignment]

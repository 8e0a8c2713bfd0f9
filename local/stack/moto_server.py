"""AWS on loopback: moto in server mode, with Lambda invocations routed to the function supervisor
(moto as the local stack patches it: moto_patches/), behind the IAM middleware that holds every
function and the state machine to its own role (iam/)."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import requests

from .functions import FunctionSupervisor
from .iam import IamGate, IamMiddleware
from .moto_patches import stack_patches

# moto accepts any credentials; these fill the gaps so no real ones are ever picked up.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class MotoServer:
    """moto's threaded server (as moto's ThreadedMotoServer runs it, its app behind the IAM
    middleware), started from a clean slate, running state machines for real."""

    def __init__(self, supervisor: FunctionSupervisor, iam: IamGate, port: int = 0) -> None:
        self._supervisor = supervisor
        self._iam = iam
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Start serving; returns the endpoint URL."""
        from moto.core.config import default_user_config
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        default_user_config["stepfunctions"]["execute_state_machine"] = True
        # Keep moto's regular Lambda backend: its Docker step is replaced by the supervisor below.
        default_user_config["lambda"]["use_docker"] = True
        # first: an untested moto fails here, before a port is bound
        stack_patches(self._supervisor, self._iam.principals)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # moto's ASL interpreter logs every failure a state raises at ERROR, the ones a Catch or Retry
        # takes included (a wait ending in States.Timeout, each ~8 KB of the state's repr): noise for
        # whoever runs the stack. How an execution went is in its history, as on AWS.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        for name, value in FAKE_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        app = IamMiddleware(DomainDispatcherApplication(create_backend_app), self._iam)
        self._server = make_server("127.0.0.1", self._port, app, True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="moto")
        self._thread.start()
        host, port = self._server.server_address[:2]
        # moto's backends live in this process: start every deployment from a clean slate.
        requests.post(f"http://{host}:{port}/moto-api/reset", timeout=10).raise_for_status()
        # moto's Step Functions executor calls Lambda back through the server on this port.
        os.environ["MOTO_PORT"] = str(port)
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

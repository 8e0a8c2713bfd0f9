"""AWS on loopback: moto in server mode, with Lambda invocations routed to the function supervisor
(moto as the local stack patches it: moto_patches/)."""

from __future__ import annotations

import logging
import os
from typing import Any

import requests

from .functions import FunctionSupervisor
from .moto_patches import stack_patches

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
        stack_patches(self._supervisor)  # first: an untested moto fails here, before a port is bound
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
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

"""AWS on loopback: moto in server mode, with Lambda invocations routed to the function supervisor."""

from __future__ import annotations

import binascii
import hashlib
import importlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

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
        s3_patches()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def s3_patches() -> None:
    """What the local stack changes in moto's S3 (also applied by `python -m local.stack.s3_server`,
    the same S3 on its own, which the delivery benchmark uses)."""
    _s3_completes_multipart_uploads_streaming()


def _s3_completes_multipart_uploads_streaming() -> None:
    """CompleteMultipartUpload assembles the object once, streaming. moto concatenates every part into
    a bytearray, copies it into another for the full-object checksum, makes bytes of both, and then
    writes the result into the key's spooled file: some 5 copies of the object in memory, ~10 s for
    1 GiB here, paid by every multipart upload. Here the parts are copied in order, one buffer at a
    time, straight into the file the new key keeps its value in, and the checksum moto would compute
    (the same algorithm and type: FULL_OBJECT over the object, COMPOSITE over the parts' own) is
    computed on the way. The rest is moto's: part and ETag checks (InvalidPart, EntityTooSmall,
    MalformedXML), the "<md5 of the parts' md5s>-N" ETag, If-None-Match, metadata, notifications."""
    from moto import settings as moto_settings
    from moto.s3 import models
    from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML

    if getattr(models.FakeMultipart, "_local_stack_patched", False):
        return
    value_property = vars(models.FakeKey)["value"]

    def complete(self: Any, body: Iterator[tuple[int, str]]) -> tuple[Any, str, tuple[str, str, int] | None]:
        algorithm = self.metadata.get("x-amz-checksum-algorithm") or "CRC64NVME"
        kind = self.metadata.get("x-amz-checksum-type") or (
            "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
        )  # moto's MultipartChecksumBuilder's defaults
        whole = _RunningChecksum(algorithm)
        composite = bytearray()
        md5s = bytearray()
        spool = moto_settings.get_s3_default_key_buffer_size()  # as a new key's: larger goes on disk
        out = tempfile.SpooledTemporaryFile(spool)  # noqa: SIM115 - becomes the new key's value
        chunk = bytearray(_COPY_CHUNK)
        view = memoryview(chunk)
        size = count = 0
        last = None
        try:
            for number, etag in body:
                part = self.parts.get(number)
                if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
                    raise InvalidPart()
                if last is not None and last.contentsize < moto_settings.S3_UPLOAD_PART_MIN_SIZE:
                    raise EntityTooSmall()
                md5s.extend(bytes.fromhex(part.etag.replace('"', "")))
                if size + part.contentsize > spool:
                    out.rollover()  # on disk before it would fill memory first
                own = _RunningChecksum(algorithm)
                with part.lock:
                    part._value_buffer.seek(0)
                    while read := part._value_buffer.readinto(chunk):
                        out.write(view[:read])
                        (own if kind == "COMPOSITE" else whole).update(view[:read])
                        size += read
                if kind == "COMPOSITE":
                    composite.extend(own.digest())
                last = part
                count += 1
            if count == 0:
                raise MalformedXML
        except BaseException:
            out.close()
            raise
        if kind == "COMPOSITE":
            checksum = _RunningChecksum(algorithm)
            checksum.update(composite)
            details = (kind, checksum.b64(), count)
        else:
            details = (kind, whole.b64(), 1)
        return (
            _Assembled(out, size),
            f"{hashlib.md5(bytes(md5s), usedforsecurity=False).hexdigest()}-{count}",
            details,
        )

    def value(self: Any, new_value: Any) -> None:
        if isinstance(new_value, _Assembled):  # the completed upload's file becomes the key's
            self._value_buffer.close()
            self._value_buffer, self.contentsize = new_value.file, new_value.size
        else:
            value_property.fset(self, new_value)

    models.FakeMultipart.complete = complete  # type: ignore[method-assign]
    models.FakeKey.value = value_property.setter(value)  # type: ignore[method-assign]
    models.FakeMultipart._local_stack_patched = True  # type: ignore[attr-defined]


_COPY_CHUNK = 1024 * 1024


class _Assembled:
    """A completed multipart object: the spooled file holding its bytes, and its size."""

    def __init__(self, file: IO[bytes], size: int) -> None:
        self.file, self.size = file, size

    def __len__(self) -> int:
        return self.size


class _RunningChecksum:
    """moto's `compute_checksum(body, algorithm)` computed over a body given in pieces (the same
    libraries and fallbacks: crc32c, else CRC32; awscrt's CRC64NVME, else CRC32; SHA1; else SHA256)."""

    def __init__(self, algorithm: str) -> None:
        from moto.core.compat import HAS_CRT

        self._crc = 0
        self._hash: Any = None
        self._update: Callable[[Any, int], int] | None = None
        self._width = 4
        if algorithm == "SHA1":
            self._hash = hashlib.sha1(usedforsecurity=False)
        elif algorithm == "CRC32C":
            try:
                import crc32c

                self._update = lambda data, crc: crc32c.crc32c(data, crc)
            except ImportError:
                self._update = binascii.crc32
        elif algorithm == "CRC64NVME" and HAS_CRT:
            self._update, self._width = importlib.import_module("awscrt.checksums").crc64nvme, 8
        elif algorithm in ("CRC32", "CRC64NVME"):
            self._update = binascii.crc32
        else:
            self._hash = hashlib.sha256(usedforsecurity=False)

    def update(self, data: Any) -> None:
        if self._hash is not None:
            self._hash.update(data)
        else:
            assert self._update is not None
            self._crc = self._update(data, self._crc)

    def digest(self) -> bytes:
        return self._hash.digest() if self._hash is not None else self._crc.to_bytes(self._width, "big")

    def b64(self) -> str:
        import base64

        return base64.b64encode(self.digest()).decode()


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

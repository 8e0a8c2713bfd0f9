"""AWS on loopback: moto in server mode, with Lambda invocations routed to the function supervisor."""

from __future__ import annotations

import base64
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
    _s3_verifies_checksums()
    _s3_lists_part_checksums()
    _s3_completing_an_unknown_upload_is_no_such_upload()


def _s3_completing_an_unknown_upload_is_no_such_upload() -> None:
    """Completing an upload that was aborted (or already completed, or never existed) is S3's 404
    NoSuchUpload; moto answers 500 (a KeyError), which a caller would take for a transient error."""
    from moto.s3 import models
    from moto.s3.exceptions import NoSuchUpload

    if getattr(models.S3Backend, "_local_stack_no_such_upload", False):
        return
    complete = models.S3Backend.complete_multipart_upload

    def complete_known(self: Any, bucket_name: str, multipart_id: str, body: Any) -> Any:
        try:
            return complete(self, bucket_name, multipart_id, body)
        except (KeyError, ValueError):  # unknown, or aborted (or completed) by another request meanwhile
            if multipart_id in self.get_bucket(bucket_name).multiparts:
                raise
            raise NoSuchUpload(upload_id=multipart_id) from None

    models.S3Backend.complete_multipart_upload = complete_known  # type: ignore[method-assign]
    models.S3Backend._local_stack_no_such_upload = True  # type: ignore[attr-defined]


def _s3_completes_multipart_uploads_streaming() -> None:
    """CompleteMultipartUpload assembles the object once, streaming. moto concatenates every part into
    a bytearray, copies it into another for the full-object checksum, makes bytes of both, and then
    writes the result into the key's spooled file: some 5 copies of the object in memory, ~10 s for
    1 GiB here, paid by every multipart upload. Here the parts are copied in order, one buffer at a
    time, straight into the file the new key keeps its value in, and the checksum moto would compute
    (the same algorithm and type: FULL_OBJECT over the object, COMPOSITE over the parts' own) is
    computed on the way. The rest is moto's: part and ETag checks (InvalidPart, EntityTooSmall,
    MalformedXML), the "<md5 of the parts' md5s>-N" ETag, If-None-Match, metadata, notifications.
    The checksums a completion sends are verified on the way (`_s3_verifies_checksums`)."""
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
        request = body if isinstance(body, _Completion) else None  # with _s3_verifies_checksums
        declared = self.metadata.get("x-amz-checksum-algorithm")
        if request is not None:
            request.check_mode(declared, kind)
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
                # the part checksums listed in the request: those verified at UploadPart compared
                # now, any other computed on the way
                unverified = _listed_part_checksums(request, number, part)
                md5s.extend(bytes.fromhex(part.etag.replace('"', "")))
                if size + part.contentsize > spool:
                    out.rollover()  # on disk before it would fill memory first
                own = _RunningChecksum(algorithm)
                with part.lock:
                    part._value_buffer.seek(0)
                    while read := part._value_buffer.readinto(chunk):
                        out.write(view[:read])
                        (own if kind == "COMPOSITE" else whole).update(view[:read])
                        for _, running in unverified:
                            running.update(view[:read])
                        size += read
                if any(running.digest() != listed for listed, running in unverified):
                    raise InvalidPart()
                if kind == "COMPOSITE":
                    composite.extend(own.digest())
                last = part
                count += 1
            if count == 0:
                raise MalformedXML
            if kind == "COMPOSITE":
                checksum = _RunningChecksum(algorithm)
                checksum.update(composite)
                details = (kind, checksum.b64(), count)
            else:
                details = (kind, whole.b64(), 1)
            if request is not None and kind == "FULL_OBJECT":
                request.verify_full_object(declared, whole)
        except BaseException:
            out.close()
            raise
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
        self.exact = True  # False where moto's fallback computes another function than `algorithm`
        if algorithm == "SHA1":
            self._hash = hashlib.sha1(usedforsecurity=False)
        elif algorithm == "CRC32C":
            try:
                import crc32c

                self._update = lambda data, crc: crc32c.crc32c(data, crc)
            except ImportError:
                self._update, self.exact = binascii.crc32, False
        elif algorithm == "CRC64NVME" and HAS_CRT:
            self._update, self._width = importlib.import_module("awscrt.checksums").crc64nvme, 8
        elif algorithm in ("CRC32", "CRC64NVME"):
            self._update, self.exact = binascii.crc32, algorithm == "CRC32"
        else:
            self._hash = hashlib.sha256(usedforsecurity=False)
            self.exact = algorithm == "SHA256"

    def update(self, data: Any) -> None:
        if self._hash is not None:
            self._hash.update(data)
        else:
            assert self._update is not None
            self._crc = self._update(data, self._crc)

    def digest(self) -> bytes:
        return self._hash.digest() if self._hash is not None else self._crc.to_bytes(self._width, "big")

    def b64(self) -> str:
        return base64.b64encode(self.digest()).decode()


def _s3_verifies_checksums() -> None:
    """S3 verifies every checksum a client sends; moto stores them unchecked (its `_get_checksum`
    says so: "TODO: AWS computes the provided value and verifies it's the same"), so a client whose
    checksums are wrong passes locally and fails on AWS. Here, as S3 answers (LocalStack's S3 tests,
    recorded against AWS: tests/aws/services/s3/test_s3.py and its snapshot):
    - PutObject and UploadPart: each `x-amz-checksum-<algorithm>` the client sends, as a header or
      as the aws-chunked trailer botocore uses over https, is checked against the body before moto
      stores anything: 400 BadDigest "The CRC32C you specified did not match the calculated
      checksum." (InvalidRequest "Value for x-amz-checksum-crc32c header is invalid." when it is
      not a digest at all). A part keeps the checksums verified, for its completion.
    - CompleteMultipartUpload: a checksum listed with a part must be that part's (else InvalidPart,
      like a wrong ETag); on an upload created with a checksum algorithm, `x-amz-checksum-type`
      must be the upload's (else InvalidRequest), and with FULL_OBJECT the full-object checksum
      must be sent with that type, in the upload's algorithm, and equal the one computed while the
      parts are streamed into the object (else BadDigest "The crc32c you specified did not match
      the calculated checksum."). Nothing is stored and the upload stays open, as on S3.
    Checksums moto cannot compute exactly (CRC64NVME without awscrt, CRC32C without crc32c: moto
    falls back to CRC32) are not verified. Correct checksums cost one pass over a PutObject's or
    part's body and nothing at completion (the full-object checksum is the one computed anyway)."""
    from moto.s3 import responses
    from moto.s3.exceptions import NoSuchUpload

    if getattr(responses.S3Response, "_local_stack_verifies", False):
        return
    put_object, upload_part = responses.S3Response.put_object, responses.S3Response.upload_part
    listed_parts = responses.S3Response._complete_multipart_body

    def verified_put_object(self: Any) -> Any:
        _verify_body(self)
        return put_object(self)

    def verified_upload_part(self: Any) -> Any:
        verified = _verify_body(self)
        answer = upload_part(self)
        if verified:
            upload = self.backend.get_bucket(self.bucket_name).multiparts.get(self._get_param("uploadId"))
            if upload is None:  # aborted while the part was stored: as S3, the part is gone with it
                raise NoSuchUpload(upload_id=self._get_param("uploadId"))
            upload.parts[self._get_int_param("partNumber")].local_stack_checksums = verified
        return answer

    def completion(self: Any, body: bytes) -> _Completion:
        return _Completion(listed_parts(self, body), body, self.headers)

    responses.S3Response.put_object = verified_put_object  # type: ignore[method-assign]
    responses.S3Response.upload_part = verified_upload_part  # type: ignore[method-assign]
    responses.S3Response._complete_multipart_body = completion  # type: ignore[assignment,method-assign]
    responses.S3Response._local_stack_verifies = True  # type: ignore[attr-defined]


def _s3_lists_part_checksums() -> None:
    """ListParts lists each part's checksums as S3 does: moto's lists number, date, ETag and size
    only, so a client resuming an upload from its listed parts (our delivery) cannot combine their
    checksums into the full-object one, and completes without it locally where on AWS it sends it.
    Here each `Part` carries the checksums it was uploaded with and that were verified
    (`_s3_verifies_checksums`: `<ChecksumCRC32C>` etc., after `<Size>`), and the result the upload's
    `ChecksumAlgorithm` and `ChecksumType` (after `StorageClass`) when it was created with an algorithm,
    its type being the one the completion uses (S3's default: FULL_OBJECT for CRC64NVME, else
    COMPOSITE). moto serializes its result with botocore's ListParts shape, which orders them."""
    from moto.s3 import responses

    if getattr(responses.S3Response, "_local_stack_lists_checksums", False):
        return
    list_parts = responses.S3Response.list_parts

    def listed_with_checksums(self: Any) -> Any:
        serialized = self.serialized

        def with_checksums(action_result: Any) -> Any:
            result = action_result.result
            upload = self.backend.get_bucket(self.bucket_name).multiparts.get(self._get_param("uploadId"))
            if isinstance(result, dict) and upload is not None:
                for listed in result.get("Parts", []):
                    part = upload.parts.get(int(listed["PartNumber"]))
                    for algorithm, digest in getattr(part, "local_stack_checksums", {}).items():
                        listed[f"Checksum{algorithm}"] = base64.b64encode(digest).decode()
                if algorithm := upload.metadata.get("x-amz-checksum-algorithm"):
                    result["ChecksumAlgorithm"] = algorithm
                    result["ChecksumType"] = upload.metadata.get("x-amz-checksum-type") or (
                        "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
                    )
            return serialized(action_result)

        self.serialized = with_checksums  # this request's response only
        try:
            return list_parts(self)
        finally:
            del self.serialized

    responses.S3Response.list_parts = listed_with_checksums  # type: ignore[method-assign]
    responses.S3Response._local_stack_lists_checksums = True  # type: ignore[attr-defined]


# the algorithms S3 accepts, with their digests' sizes in bytes
_CHECKSUMS = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


def _s3_error(code: str, message: str) -> Exception:
    from moto.s3.exceptions import S3ClientError

    return S3ClientError(code, message)


def _digest_of(algorithm: str, value: str) -> bytes | None:
    """The digest a base64 checksum value carries, or None if it is not one of `algorithm`'s."""
    try:
        digest = binascii.a2b_base64(value.strip().encode(), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    return digest if len(digest) == _CHECKSUMS[algorithm] else None


def _verify_body(response: Any) -> dict[str, bytes]:
    """Checks the PutObject or UploadPart body against the checksums sent with it (S3's errors);
    returns those it verified, by algorithm."""
    claimed = {
        algorithm: value
        for algorithm in _CHECKSUMS
        if (value := response.headers.get(f"x-amz-checksum-{algorithm.lower()}"))
    }
    trailer = str(response.headers.get("x-amz-trailer") or "").strip().lower()
    decoded = str(response.headers.get("x-amz-content-sha256") or "").startswith("STREAMING-")
    if trailer.startswith("x-amz-checksum-") and decoded:  # moto decoded the chunks, not the trailer
        algorithm = trailer.removeprefix("x-amz-checksum-").upper()
        value = _trailer_value(response.raw_body, trailer)
        if algorithm in _CHECKSUMS and value is not None:
            claimed.setdefault(algorithm, value)
    body = response.body or b""
    if not isinstance(body, bytes | bytearray):
        return {}  # a browser form's field: no checksum headers there
    verified = {}
    for algorithm, value in claimed.items():
        digest = _digest_of(algorithm, value)
        if digest is None:
            raise _s3_error(
                "InvalidRequest", f"Value for x-amz-checksum-{algorithm.lower()} header is invalid."
            )
        checksum = _RunningChecksum(algorithm)
        if not checksum.exact:
            continue
        checksum.update(body)
        if checksum.digest() != digest:
            raise _s3_error(
                "BadDigest", f"The {algorithm} you specified did not match the calculated checksum."
            )
        verified[algorithm] = digest
    return verified


def _trailer_value(raw: Any, name: str) -> str | None:
    """The value of trailer `name` at the end of an aws-chunked body (after its last chunk)."""
    tail = bytes(raw[-1024:]) if isinstance(raw, bytes | bytearray) else b""
    start = tail.lower().rfind(b"\n" + name.encode() + b":")
    if start < 0:
        return None
    start += len(name) + 2
    end = tail.find(b"\r\n", start)
    return tail[start : end if end >= 0 else len(tail)].decode("ascii", "replace").strip()


class _Completion:
    """A CompleteMultipartUpload request as moto's backend reads it, the (part number, ETag) pairs of
    its body, with what S3 verifies besides: the checksums listed with the parts and the
    full-object checksum headers."""

    def __init__(self, listed: Iterator[tuple[int, str]], body: bytes, headers: Any) -> None:
        from xml.dom import minidom

        self._listed = listed
        self.parts: dict[int, dict[str, str]] = {}
        if b"<Checksum" in body:  # moto parses the same body with minidom
            for part in minidom.parseString(body).getElementsByTagName("Part"):  # noqa: S318
                try:
                    number = int(_text(part.getElementsByTagName("PartNumber")[0]))
                except (IndexError, ValueError):
                    continue  # moto's own parsing refuses it
                sums = self.parts.setdefault(number, {})
                for algorithm in _CHECKSUMS:
                    for element in part.getElementsByTagName(f"Checksum{algorithm}"):
                        sums[algorithm] = _text(element)
        self.claimed = {
            algorithm: value
            for algorithm in _CHECKSUMS
            if (value := headers.get(f"x-amz-checksum-{algorithm.lower()}"))
        }
        self.kind = headers.get("x-amz-checksum-type")

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return iter(self._listed)

    def check_mode(self, algorithm: str | None, kind: str) -> None:
        """The checksum type sent must be that of the upload (created with `algorithm` and `kind`)."""
        if algorithm is not None and self.kind is not None and self.kind != kind:
            raise _s3_error(
                "InvalidRequest",
                f"The upload was created using the {kind} checksum mode. "
                "The complete request must use the same checksum mode.",
            )

    def verify_full_object(self, algorithm: str | None, computed: _RunningChecksum) -> None:
        """The full-object checksum sent against `computed`, the object's, for a FULL_OBJECT upload
        created with checksum `algorithm` (composite checksums are not checked, nor uploads created
        without a checksum: as LocalStack)."""
        if algorithm is None or not self.claimed:
            return
        value = self.claimed.get(algorithm)
        if (
            set(self.claimed) != {algorithm}
            or self.kind is None  # S3 wants the type with a full-object checksum
            or (computed.exact and _digest_of(algorithm, value or "") != computed.digest())
        ):
            raise _s3_error(
                "BadDigest", f"The {algorithm.lower()} you specified did not match the calculated checksum."
            )


def _text(element: Any) -> str:
    return "".join(node.data for node in element.childNodes if node.nodeType == node.TEXT_NODE)


def _listed_part_checksums(
    request: _Completion | None, number: int, part: Any
) -> list[tuple[bytes, _RunningChecksum]]:
    """Compares the checksums `request` lists with part `number` with those verified when it was
    uploaded (InvalidPart, as S3); returns, to be computed over the part, those it has not."""
    unverified = []
    known = getattr(part, "local_stack_checksums", {})
    for algorithm, value in (request.parts.get(number, {}) if request is not None else {}).items():
        digest = _digest_of(algorithm, value)
        if digest is None or (algorithm in known and known[algorithm] != digest):
            from moto.s3.exceptions import InvalidPart

            raise InvalidPart()
        if algorithm not in known and (running := _RunningChecksum(algorithm)).exact:
            unverified.append((digest, running))
    return unverified


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

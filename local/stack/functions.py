"""Supervises the functions' worker processes and routes Lambda invocations to them.

Each function runs in its own warm worker processes (`worker.py`), scaled out like Lambda for
concurrent invocations; moto's Lambda backend and the local API Gateway both invoke through here.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

WORKER = Path(__file__).with_name("worker.py")
_PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR")


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: float = 30.0
    memory: int = 128
    layer_paths: tuple[Path, ...] = ()
    runtime_env: dict[str, str] = field(default_factory=dict)
    # its role's credentials, as Lambda hands them to a function (none: the account's own)
    credentials: dict[str, str] = field(default_factory=dict, repr=False)

    def process_env(self) -> dict[str, str]:
        """What the function sees: Lambda's runtime variables plus its own, nothing of ours, and its
        role's credentials."""
        env = {k: os.environ[k] for k in _PASS_THROUGH if k in os.environ}
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory),
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
                "LAMBDA_TASK_ROOT": str(self.code_dir),
                "LAMBDA_LAYER_PATHS": os.pathsep.join(str(p) for p in self.layer_paths),
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        env.update(self.environment)
        env.update(self.runtime_env)  # the deployment's own, like Lambda's reserved variables
        env.update(self.credentials)
        return env


class Worker:
    """One warm "container" for one function; handles one invocation at a time."""

    def __init__(self, spec: FunctionSpec, log: IO[str] | int | None) -> None:
        self.spec = spec
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and worker script
            [sys.executable, "-I", str(WORKER), str(spec.code_dir), spec.handler],
            env=spec.process_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log if log is not None else subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True, name=f"worker-{spec.name}").start()
        ready = self._next(timeout=60)
        if ready is None:
            raise RuntimeError(f"function {spec.name} worker did not start")

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _next(self, timeout: float) -> dict[str, Any] | None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        return json.loads(line) if line else None

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def invoke(self, event: Any, request_id: str) -> tuple[Any, dict[str, Any] | None]:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"event": event, "requestId": request_id}) + "\n")
        self._proc.stdin.flush()
        answer = self._next(timeout=self.spec.timeout + 5)
        if answer is None:
            self.stop()
            return None, {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Task timed out after {self.spec.timeout:.2f} seconds",
            }
        return answer.get("result"), answer.get("error")

    def peak_memory(self) -> int | None:
        """The most memory this "container" has held so far (the kernel's VmHWM), in bytes, as
        Lambda reports "Max Memory Used"; None where the system does not say (not Linux)."""
        try:
            status = Path(f"/proc/{self._proc.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return None

    def kill(self) -> None:
        """The process dies mid-invocation; the waiting invoke() reports it as Lambda would."""
        self._proc.kill()

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(timeout=10)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()


class FunctionPool:
    """Warm workers for one function, scaled out for concurrent invocations like Lambda."""

    def __init__(self, spec: FunctionSpec, log: IO[str] | int | None, max_workers: int = 4) -> None:
        self.spec = spec
        self._log = log
        self._idle: list[Worker] = []
        self._all: list[Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(max_workers)

    def invoke(self, event: Any) -> tuple[Any, dict[str, Any] | None]:
        with self._slots:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None:
                worker = Worker(self.spec, self._log)
                with self._lock:
                    self._all.append(worker)
            result, error = worker.invoke(event, str(uuid.uuid4()))
            with self._lock:
                if worker.alive:
                    self._idle.append(worker)
                elif worker in self._all:  # stop() may have emptied the pool meanwhile
                    self._all.remove(worker)
            return result, error

    def warm(self) -> None:
        with self._lock:
            if self._all:
                return
        worker = Worker(self.spec, self._log)
        with self._lock:
            self._all.append(worker)
            self._idle.append(worker)

    def peak_memory(self) -> int | None:
        """The largest peak memory among the function's live workers (Worker.peak_memory)."""
        with self._lock:
            workers = [w for w in self._all if w.alive]
        peaks = [peak for peak in (w.peak_memory() for w in workers) if peak is not None]
        return max(peaks) if peaks else None

    def crash_busy(self) -> int:
        """Kill the workers now running an invocation, as Lambda does to a function that times out
        or runs out of memory (for tests of what survives that); returns how many were killed."""
        with self._lock:
            busy = [w for w in self._all if w not in self._idle and w.alive]
        for worker in busy:
            worker.kill()
        return len(busy)

    def stop(self) -> None:
        with self._lock:
            workers, self._all, self._idle = self._all, [], []
        for worker in workers:
            worker.stop()


class FunctionSupervisor:
    """Function name -> pool of warm workers; moto's Lambda and the API gateway invoke through it."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.pools: dict[str, FunctionPool] = {}
        self._log_dir = log_dir
        self._logs: list[IO[str]] = []

    def add(self, spec: FunctionSpec) -> None:
        """Supervise one function; its workers' output goes to `<log_dir>/<name>.log`."""
        log: IO[str] | None = None
        if self._log_dir is not None:
            self._log_dir.mkdir(parents=True, exist_ok=True)
            log = (self._log_dir / f"{spec.name}.log").open("a")
            self._logs.append(log)
        self.pools[spec.name] = FunctionPool(spec, log)

    def warm(self) -> None:
        """Start one worker per function now, so the first invocation does not pay the cold start."""
        for pool in self.pools.values():
            pool.warm()

    def invoke(self, name: str, event: Any) -> tuple[Any, dict[str, Any] | None]:
        pool = self.pools.get(name)
        if pool is None:
            return None, {"errorType": "ResourceNotFoundException", "errorMessage": f"no function {name}"}
        result, error = pool.invoke(event)
        if error and os.environ.get("LOCAL_STACK_DEBUG"):
            print(
                f"[{name}] {error.get('errorType')}: {error.get('errorMessage')}",
                file=sys.stderr,
            )
        return result, error

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.stop()
        for log in self._logs:
            log.close()
        self._logs.clear()

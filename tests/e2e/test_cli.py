"""The `aistudios-export` console script, run as a user runs it, against one local stack for the module:
every subcommand with its exit codes, plain lines in a pipe, the live progress bar in a real terminal
(tmux, reading the captured pane)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.simulator import Fault
from local.stack import DeploymentOptions, LocalDeployment
from tests.helpers import new_project_id

pytestmark = pytest.mark.e2e

CLI = Path(sys.executable).with_name("aistudios-export")
UNKNOWN_EXPORT = "0" * 32
ANSI = re.compile(r"\x1b\[")


def _env(**extra: str) -> dict[str, str]:
    """The caller's environment without AWS settings, or anything that would make rich think a pipe is
    a terminal; HOME is the test's, so no ~/.aws of the machine is read."""
    drop = ("AWS_", "AISTUDIOS_", "FORCE_COLOR", "TTY_", "COLUMNS", "NO_COLOR")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | {"AWS_EC2_METADATA_DISABLED": "true"} | extra


@dataclass
class Cli:
    api_url: str
    home: Path

    def run(self, *args: str, cwd: Path | None = None, local: bool = False, **env: str) -> Result:
        """The console script in a subprocess; with `--api-url` unless `local` (then it finds the API itself)."""
        argv = [str(CLI), *args, *([] if local else ["--api-url", self.api_url])]
        done = subprocess.run(  # noqa: S603
            argv,
            cwd=cwd or self.home,
            env=_env(HOME=str(self.home), **env),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603
            [str(CLI), *args, "--api-url", self.api_url],
            cwd=self.home,
            env=_env(HOME=str(self.home)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def one_error_line(self) -> str:
        """The error as the CLI must show it: exactly one line on stderr, no traceback."""
        lines = self.err.splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("error: "), self.err
        assert "Traceback" not in self.err
        return lines[0]


def concurrently(**calls: Callable[[], Result]) -> dict[str, Result]:
    """Independent commands at once (each is its own process), their results by name."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    options = DeploymentOptions(
        render_seconds=4.0,  # long enough for the bar to be seen half way
        export_deadline_seconds=20,
        poll_min_wait_seconds=1,
        poll_max_wait_seconds=2,
        write_endpoints=False,
        log_dir=tmp_path_factory.mktemp("cli-lambda-logs"),
    )
    with LocalDeployment(options) as local:
        local.warm()
        yield local


@pytest.fixture(scope="module")
def cli(stack: LocalDeployment, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    assert CLI.exists(), f"{CLI}: `make setup` installs the console script"
    return Cli(stack.endpoints["api_url"], tmp_path_factory.mktemp("cli-home"))


@pytest.fixture(scope="module")
def bad_endings(stack: LocalDeployment, cli: Cli) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """A render that fails and one that stalls past the deadline, followed by `start --wait` from the
    start of the module, so their (longer) exports run while the other tests do."""
    assert stack.simulator is not None
    failing, stalling = new_project_id(), new_project_id()
    stack.simulator.inject(Fault(kind="export_fail", project_id=failing, at_progress=30))
    stack.simulator.inject(Fault(kind="export_stall", project_id=stalling, at_progress=42))
    procs = {
        "failed": cli.popen("start", failing, "--wait", "--interval", "0.5"),
        "timed_out": cli.popen("start", stalling, "--wait", "--interval", "0.5", "--json"),
    }
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.fixture(scope="module")
def succeeded(cli: Cli, bad_endings: dict[str, subprocess.Popen[str]]) -> tuple[Result, str]:
    """`start PROJECT_ID --wait` in a pipe: the acceptance run, whose export the later tests read."""
    project_id = new_project_id()
    result = cli.run("start", project_id, "--wait", "--interval", "0.5", "--resolution", "720")
    assert result.code == 0, result
    return result, project_id


def _export_id(result: Result) -> str:
    match = re.search(r"Export ([0-9a-f]{32})", result.out)
    assert match, result.out
    return match.group(1)


def test_start_wait_drives_an_export_to_its_end_with_a_line_per_change(
    succeeded: tuple[Result, str], stack: LocalDeployment
) -> None:
    result, project_id = succeeded
    assert not ANSI.search(result.out), "a pipe gets plain lines, no terminal codes"
    lines = result.out.splitlines()
    export_id = _export_id(result)
    assert lines[0] == f"Export {export_id}: project {project_id}, resolution 720"
    progress = [re.match(r"^(\d:\d\d:\d\d)  (\w+) +(\d+\.\d)%", line) for line in lines[1:-1]]
    assert all(progress), lines
    seen = [(m.group(2), float(m.group(3))) for m in progress if m]
    assert [s for s, _ in seen][-1] == "SUCCEEDED"
    assert "RENDERING" in [s for s, _ in seen]
    assert [p for _, p in seen] == sorted(p for _, p in seen), "progress only goes up"
    order = ["REQUESTED", "RENDERING", "DELIVERING", "SUCCEEDED"]
    assert [order.index(s) for s, _ in seen] == sorted(order.index(s) for s, _ in seen)
    key = f"exports/{project_id}/{export_id}.mp4"
    assert re.fullmatch(
        rf"Export {export_id} SUCCEEDED in \d:\d\d:\d\d: s3://{stack.endpoints['bucket']}/{key} \(\d+\.\d kB\)",
        lines[-1],
    )
    stored = stack.client("s3").head_object(Bucket=stack.endpoints["bucket"], Key=key)
    assert stored["ContentLength"] > 0


def test_status_shows_an_export_and_exits_with_its_ending(cli: Cli, succeeded: tuple[Result, str]) -> None:
    export_id = _export_id(succeeded[0])
    r = concurrently(
        shown=lambda: cli.run("status", export_id),
        view=lambda: cli.run("status", export_id, "--json"),
        missing=lambda: cli.run("status", UNKNOWN_EXPORT),
        missing_json=lambda: cli.run("status", UNKNOWN_EXPORT, "--json"),
    )
    assert r["shown"].code == 0, r["shown"]
    assert re.search(r"^Status +SUCCEEDED +100\.0%", r["shown"].out, re.MULTILINE), r["shown"].out
    assert f"Download    aistudios-export download {export_id}" in r["shown"].out
    assert "X-Amz-" not in r["shown"].out, "the presigned link's signature is not shown to people"

    assert r["view"].code == 0
    assert r["view"].json()["status"] == "SUCCEEDED"
    assert r["view"].json()["video"]["downloadUrl"]

    assert r["missing"].code == 6
    assert "ExportNotFound" in r["missing"].one_error_line()
    assert r["missing"].out == ""
    assert r["missing_json"].code == 6
    error = r["missing_json"].json()
    assert error == {
        "error": {"code": "ExportNotFound", "field": "exportId", "message": error["error"]["message"]},
        "exitCode": 6,
    }


def test_download_streams_the_verified_video_to_a_file(
    cli: Cli, succeeded: tuple[Result, str], stack: LocalDeployment, tmp_path: Path
) -> None:
    export_id = _export_id(succeeded[0])
    for name in ("new", "mine", "replaced", "unknown"):
        (tmp_path / name).mkdir()
    (tmp_path / "mine" / "video.mp4").write_bytes(b"mine")
    (tmp_path / "replaced" / f"{export_id}.mp4").write_bytes(b"old")
    r = concurrently(
        view=lambda: cli.run("status", export_id, "--json"),
        saved=lambda: cli.run("download", export_id, "-o", str(tmp_path / "new" / "video.mp4")),
        kept=lambda: cli.run("download", export_id, "-o", str(tmp_path / "mine" / "video.mp4")),
        replaced=lambda: cli.run(
            "download", export_id, "-o", str(tmp_path / "replaced"), "--force", "--json"
        ),
        unknown=lambda: cli.run("download", UNKNOWN_EXPORT, "-o", str(tmp_path / "unknown")),
    )
    video = r["view"].json()["video"]
    stored = stack.client("s3").get_object(Bucket=video["bucket"], Key=video["key"])["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == video["sha256"]

    assert r["saved"].code == 0, r["saved"]
    assert (tmp_path / "new" / "video.mp4").read_bytes() == stored
    assert f"SHA-256 verified: {video['sha256']}" in r["saved"].out
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["video.mp4"], "no partial file left behind"

    assert r["kept"].code == 2
    assert "--force" in r["kept"].one_error_line()
    assert (tmp_path / "mine" / "video.mp4").read_bytes() == b"mine"

    assert r["replaced"].code == 0, r["replaced"]
    assert r["replaced"].json() == {
        "exportId": export_id,
        "file": str(tmp_path / "replaced" / f"{export_id}.mp4"),
        "size": len(stored),
        "sha256": video["sha256"],
    }
    assert (tmp_path / "replaced" / f"{export_id}.mp4").read_bytes() == stored

    assert r["unknown"].code == 6
    assert "ExportNotFound" in r["unknown"].one_error_line()
    assert list((tmp_path / "unknown").iterdir()) == []


def test_list_filters_by_project_and_status(cli: Cli, succeeded: tuple[Result, str]) -> None:
    result, project_id = succeeded
    export_id = _export_id(result)
    r = concurrently(
        mine=lambda: cli.run("list", "--project", project_id, "--json"),
        done=lambda: cli.run("list", "--status", "succeeded", "--limit", "100"),  # statuses in any case
        none=lambda: cli.run("list", "--project", new_project_id()),
        bogus=lambda: cli.run("list", "--status", "DONE"),
    )
    assert r["mine"].code == 0, r["mine"]
    assert [e["exportId"] for e in r["mine"].json()["exports"]] == [export_id]

    assert r["done"].code == 0, r["done"]
    header, *rows = r["done"].out.splitlines()
    assert header.split() == ["EXPORT", "PROJECT", "STATUS", "PROGRESS", "RES", "CREATED"]
    expected = [export_id, project_id, "SUCCEEDED", "100.0%", "720"]
    assert any(row.split()[:5] == expected for row in rows), r["done"].out
    assert all(row.split()[2] == "SUCCEEDED" for row in rows if not row.startswith("("))

    assert (r["none"].code, r["none"].out) == (0, "No exports.\n")
    assert r["bogus"].code == 2
    assert "'DONE' is not one of" in r["bogus"].one_error_line()


def test_cancel_ends_a_running_export_cancelled(cli: Cli, stack: LocalDeployment) -> None:
    project_id = new_project_id()
    assert stack.simulator is not None  # a render that stays at 42 % until cancelled (or its deadline)
    stack.simulator.inject(Fault(kind="export_stall", project_id=project_id, at_progress=42))
    started = cli.run("start", project_id, "--json")
    assert started.code == 0, started
    export_id = started.json()["exportId"]
    assert started.json()["status"] == "REQUESTED"

    running = concurrently(
        busy=lambda: cli.run("start", project_id),
        not_yet=lambda: cli.run("download", export_id),
    )
    assert running["busy"].code == 7
    assert "ProjectBusy" in running["busy"].one_error_line()
    assert running["not_yet"].code == 7
    assert f"wait for it: aistudios-export watch {export_id}" in running["not_yet"].one_error_line()

    cancelled = cli.run("cancel", export_id)
    assert cancelled.code == 0, cancelled
    assert cancelled.out == f"Export {export_id} CANCELLED\n"

    ended = concurrently(
        again=lambda: cli.run("cancel", export_id),
        unknown=lambda: cli.run("cancel", UNKNOWN_EXPORT),
        watched=lambda: cli.run("watch", export_id, "--interval", "0.3"),
        status=lambda: cli.run("status", export_id),
        download=lambda: cli.run("download", export_id),
    )
    assert ended["again"].code == 7
    assert "ExportAlreadyEnded" in ended["again"].one_error_line()
    assert ended["unknown"].code == 6
    assert ended["watched"].code == 4, ended["watched"]
    assert re.search(rf"^Export {export_id} CANCELLED after \d:\d\d:\d\d", ended["watched"].out, re.MULTILINE)
    assert ended["status"].code == 4
    assert ended["download"].code == 7
    assert "it has ended" in ended["download"].one_error_line()


def test_retry_starts_the_same_request_again_and_refuses_what_has_not_ended(
    cli: Cli, stack: LocalDeployment
) -> None:
    project_id = new_project_id()
    assert stack.simulator is not None  # renders of this project stay at 42 % until cancelled
    stack.simulator.inject(Fault(kind="export_stall", project_id=project_id, at_progress=42))
    started = cli.run("start", project_id, "--name", "Spring launch", "--meta", "campaign=spring", "--json")
    assert started.code == 0, started
    first = started.json()["exportId"]
    assert cli.run("retry", first).code == 7  # still going on: ExportNotEnded
    assert cli.run("cancel", first).code == 0

    retried = cli.run("retry", first)
    assert retried.code == 0, retried
    found = re.fullmatch(
        rf"Started export ([0-9a-f]{{32}}) \(\w+\), retrying {first}; follow it with: .+\n", retried.out
    )
    assert found, retried.out
    second = found.group(1)
    view = cli.run("status", second, "--json").json()
    assert (view["retryOf"], view["name"], view["metadata"]) == (
        first,
        "Spring launch",
        {"campaign": "spring"},
    )

    again = cli.run("retry", first)
    assert again.code == 7
    assert "ExportAlreadyRetried" in again.one_error_line()
    assert cli.run("retry", UNKNOWN_EXPORT).code == 6
    bad = cli.run("start", project_id, "--meta", "campaign")
    assert bad.code == 2
    assert "KEY=VALUE" in bad.err
    assert cli.run("cancel", second).code == 0


def test_exit_codes_of_a_failed_and_a_timed_out_export(bad_endings: dict[str, subprocess.Popen[str]]) -> None:
    failed_out, failed_err = bad_endings["failed"].communicate(timeout=60)
    assert bad_endings["failed"].returncode == 1, failed_out + failed_err
    assert re.search(r"^Export [0-9a-f]{32} FAILED after \d:\d\d:\d\d: \[\w+\] .+", failed_out, re.MULTILINE)
    assert failed_err == ""

    timed_out, timed_err = bad_endings["timed_out"].communicate(timeout=60)
    assert bad_endings["timed_out"].returncode == 3, timed_out + timed_err
    view = json.loads(timed_out)  # --json: the final view, and nothing else, on stdout
    assert view["status"] == "TIMED_OUT"
    assert view["error"]["code"]


def test_errors_are_one_line_with_their_exit_code(cli: Cli, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deployed = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1"
    r = concurrently(
        unreachable=lambda: cli.run("status", UNKNOWN_EXPORT, "--api-url", closed, local=True),
        nowhere=lambda: cli.run("list", cwd=tmp_path, local=True),  # no --api-url, no .local/endpoints.json
        invalid=lambda: cli.run("start", "not-an-object-id"),
        resolution=lambda: cli.run("start", new_project_id(), "--resolution", "8k"),
        command=lambda: cli.run("stop", UNKNOWN_EXPORT),
        clear=lambda: cli.run("list", "--api-url", "http://api.example.com", local=True),
        unsigned=lambda: cli.run("list", "--api-url", deployed, local=True),
    )
    assert r["unreachable"].code == 5
    assert f"cannot reach the API at {closed}" in r["unreachable"].one_error_line()
    assert r["nowhere"].code == 2
    assert "make up" in r["nowhere"].one_error_line()
    assert r["invalid"].code == 2
    assert "projectId" in r["invalid"].one_error_line()
    assert "ValidationError" in r["invalid"].err
    assert r["resolution"].code == 2
    assert "'8k' is not one of" in r["resolution"].one_error_line()
    assert r["command"].code == 2
    assert "No such command 'stop'" in r["command"].one_error_line()
    assert r["clear"].code == 2
    assert "must be https" in r["clear"].one_error_line()
    assert r["unsigned"].code == 5, "no credentials to sign with (HOME and the environment have none)"
    assert "no AWS credentials found" in r["unsigned"].one_error_line()


def test_a_reader_that_goes_away_ends_the_command_quietly(cli: Cli, succeeded: tuple[Result, str]) -> None:
    proc = subprocess.Popen(  # noqa: S603
        [str(CLI), "list", "--api-url", cli.api_url],
        env=_env(HOME=str(cli.home)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # before the command writes: its first write meets a closed pipe (EPIPE)
    err = proc.stderr.read()
    assert (proc.wait(timeout=60), err) == (141, "")


def test_the_local_stack_is_found_from_the_endpoints_file(
    cli: Cli, succeeded: tuple[Result, str], tmp_path: Path
) -> None:
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "endpoints.json").write_text(json.dumps({"api_url": cli.api_url}))
    deeper = tmp_path / "a" / "b"
    deeper.mkdir(parents=True)
    found = cli.run("status", _export_id(succeeded[0]), cwd=deeper, local=True)
    assert found.code == 0, found
    assert "SUCCEEDED" in found.out


@pytest.mark.filterwarnings("ignore:Tried to parse AWS")  # moto: a WaitConditionHandle is a no-op
def test_the_api_is_found_from_a_stack_output(
    cli: Cli, succeeded: tuple[Result, str], stack: LocalDeployment
) -> None:
    name = f"cli-test-{new_project_id()[:8]}"
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"ApiUrl": {"Value": cli.api_url}},
    }
    stack.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    aws = {
        "AWS_ENDPOINT_URL": stack.aws_endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    export_id = _export_id(succeeded[0])
    r = concurrently(
        found=lambda: cli.run(
            "status", export_id, "--stack-name", name, "--region", "us-east-1", local=True, **aws
        ),
        missing=lambda: cli.run(
            "status", export_id, "--stack-name", "no-such-stack", "--region", "us-east-1", local=True, **aws
        ),
    )
    assert r["found"].code == 0, r["found"]
    assert "SUCCEEDED" in r["found"].out
    assert r["missing"].code == 6
    assert "stack no-such-stack not found in us-east-1" in r["missing"].one_error_line()


# -- in a real terminal -------------------------------------------------------------------------------


class Terminal:
    """A tmux session of its own (own server socket) running one shell command; its pane read as text."""

    def __init__(self, directory: Path, command: str, env: dict[str, str]) -> None:
        self._tmux = [str(shutil.which("tmux")), "-S", str(directory / "tmux.sock")]
        shell = f"{command}; echo EXIT=$?; sleep 120"
        subprocess.run(  # noqa: S603
            [*self._tmux, "new-session", "-d", "-s", "cli", "-x", "100", "-y", "30", shell],
            env=env,
            check=True,
            timeout=10,
        )

    def screen(self) -> str:
        pane = subprocess.run(  # noqa: S603
            [*self._tmux, "capture-pane", "-p", "-t", "cli"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return pane.stdout

    def wait_for(self, pattern: str, timeout: float = 60) -> tuple[str, list[str]]:
        """The screen once `pattern` shows, and every different screen seen on the way."""
        screens: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if not screens or screens[-1] != screen:
                screens.append(screen)
            if re.search(pattern, screen, re.MULTILINE):
                return screen, screens
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} never showed:\n" + "\n---\n".join(screens[-3:]))

    def press(self, *keys: str) -> None:
        subprocess.run([*self._tmux, "send-keys", "-t", "cli", *keys], check=True, timeout=10)  # noqa: S603

    def close(self) -> None:
        subprocess.run([*self._tmux, "kill-server"], check=False, timeout=10)  # noqa: S603


@pytest.fixture
def terminal(tmp_path: Path, cli: Cli) -> Iterator[Any]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: the terminal tests need it")
    opened: list[Terminal] = []

    def open_terminal(*args: str) -> Terminal:
        command = " ".join(shlex.quote(a) for a in [str(CLI), *args, "--api-url", cli.api_url])
        opened.append(
            Terminal(tmp_path, f"cd {shlex.quote(str(tmp_path))} && {command}", _env(HOME=str(cli.home)))
        )
        return opened[-1]

    yield open_terminal
    for term in opened:
        term.close()


BAR_LINE = re.compile(r"^(\S) (\w+) +([━╸╺ ]+) +(\d+\.\d)% (\d:\d\d:\d\d)\s*$", re.MULTILINE)


def test_watch_draws_a_live_progress_bar_in_a_terminal(cli: Cli, terminal: Any) -> None:
    started = cli.run("start", new_project_id(), "--json")
    assert started.code == 0, started
    export_id = started.json()["exportId"]
    term = terminal("watch", export_id, "--interval", "0.3")
    final, screens = term.wait_for(r"^EXIT=\d+$")

    bars = [m for screen in screens for m in BAR_LINE.finditer(screen)]
    assert bars, "\n---\n".join(screens)
    half_way = [m for m in bars if m.group(2) == "RENDERING" and 0 < float(m.group(4)) < 100]
    assert half_way, "the bar should be seen part way through the render:\n" + "\n---\n".join(screens)
    assert any(m.group(1) not in "✔✘" for m in half_way), "a spinner while the export goes on"

    assert "EXIT=0" in final
    assert final.startswith(f"Export {export_id}: project ")
    last_bars = list(BAR_LINE.finditer(final))
    assert len(last_bars) == 1, f"one bar, redrawn in place, not a line per change:\n{final}"
    assert last_bars[0].group(1, 2, 4) == ("✔", "SUCCEEDED", "100.0")
    assert f"Export {export_id} SUCCEEDED in " in final.replace("\n", "")


def test_ctrl_c_stops_watching_and_the_export_goes_on(
    cli: Cli, stack: LocalDeployment, terminal: Any
) -> None:
    project_id = new_project_id()
    assert stack.simulator is not None
    stack.simulator.inject(Fault(kind="export_stall", project_id=project_id, at_progress=42))
    export_id = cli.run("start", project_id, "--json").json()["exportId"]
    term = terminal("watch", export_id, "--json")  # with --json the bar goes to stderr, when a terminal
    term.wait_for(r"RENDERING +[━╸╺ ]+ +42\.0%")
    term.press("C-c")
    final, _ = term.wait_for(r"^EXIT=\d+$")
    assert "EXIT=130" in final
    assert f"stopped watching; export {export_id} goes on" in final.replace("\n", "")
    assert "Traceback" not in final
    still = cli.run("cancel", export_id)  # 0, not 7 (ExportAlreadyEnded): it went on without a watcher
    assert (still.code, still.out) == (0, f"Export {export_id} CANCELLED\n")


def test_download_draws_a_progress_bar_in_a_terminal(
    cli: Cli, succeeded: tuple[Result, str], terminal: Any
) -> None:
    export_id = _export_id(succeeded[0])
    term = terminal("download", export_id, "-o", "in-terminal.mp4")
    final, _ = term.wait_for(r"^EXIT=\d+$")
    assert "EXIT=0" in final, final
    assert re.search(r"^in-terminal\.mp4 +━+ +(\d+\.\d)/\1 kB ", final, re.MULTILINE), final
    assert "Saved in-terminal.mp4 (" in final

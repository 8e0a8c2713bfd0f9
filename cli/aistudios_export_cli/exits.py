"""Exit codes, the export's vocabulary as the CLI needs it, and the one error every command raises."""

from __future__ import annotations

from enum import IntEnum

STATUSES = ("REQUESTED", "RENDERING", "DELIVERING", "SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED")
FINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED"})
RESOLUTIONS = ("4k", "1080", "720", "480")


class Exit(IntEnum):
    """What the exit code says (docs/cli.md): how the export ended, or why the command failed."""

    OK = 0  # done; for a command that followed or looked at an ended export: it SUCCEEDED
    FAILED = 1  # the export FAILED
    USAGE = 2  # bad command line or a request the API refused as invalid (400, 422)
    TIMED_OUT = 3  # the export TIMED_OUT
    CANCELLED = 4  # the export was CANCELLED
    API = 5  # the API could not be reached or answered with an error (auth, throttling, 5xx, ...)
    NOT_FOUND = 6  # no such export (404), or no such stack
    CONFLICT = 7  # the API's 409: the project is busy, the export has already ended, no video yet
    INTERNAL = 70  # a bug in the CLI (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C; an export being followed goes on
    BROKEN_PIPE = 141  # whoever read the output went away (128 + SIGPIPE, as a shell reports it)


_BY_STATUS = {"FAILED": Exit.FAILED, "TIMED_OUT": Exit.TIMED_OUT, "CANCELLED": Exit.CANCELLED}


def exit_for_status(status: str) -> Exit:
    """The exit code of an export's status: its ending once final, OK while it is still going."""
    return _BY_STATUS.get(status, Exit.OK)


def exit_for_http(status_code: int) -> Exit:
    """The exit code of an error answer of the API."""
    if status_code in (400, 422):
        return Exit.USAGE
    if status_code == 404:
        return Exit.NOT_FOUND
    if status_code == 409:
        return Exit.CONFLICT
    return Exit.API


class CliError(Exception):
    """An error shown as one line (`error: ...`) that ends the command with `exit_code`.

    `code` and `field` are the API's error code and the field it names, when the API answered;
    `transient` says that asking again later may work (connection errors, 429, 5xx)."""

    def __init__(
        self,
        message: str,
        exit_code: Exit,
        code: str | None = None,
        field: str | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever the source wrote
        self.message = str(self)
        self.exit_code = exit_code
        self.code = code
        self.field = field
        self.transient = transient

    def to_json(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code or self.exit_code.name, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error, "exitCode": int(self.exit_code)}

"""StopExecution aborts an execution at once, whatever state it is in, as on AWS.

moto's executor only notices a stop between states, so an execution stopped inside a
`.waitForTaskToken` task (the webhook-interruptible wait) would sit out the task's timeout and then
end FAILED.

The patch makes a stop also wake the execution's waiting callbacks, and no failure after a stop
replace ABORTED (the woken task leaves one TaskTimedOut event before ExecutionAborted in the
history)."""

from __future__ import annotations

from typing import Any


def apply() -> None:
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

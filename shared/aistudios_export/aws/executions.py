"""Step Functions, as the domain uses it: one execution per export (named by its id), stopped on a
cancel, and an armed wait ended early by its task token."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..observability import logger
from .errors import error_code

# A task token that can no longer be answered: its wait ran out, or its execution ended.
GONE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


class Executions:
    def __init__(self, sfn: Any, state_machine_arn: str) -> None:
        self._sfn = sfn
        self._state_machine_arn = state_machine_arn

    def arn_of(self, name: str) -> str:
        """The ARN the execution named `name` has (or will have)."""
        return self._state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name

    def start(self, name: str, execution_input: str) -> None:
        """Start the execution; AWS errors propagate (the caller withdraws what it prepared)."""
        self._sfn.start_execution(stateMachineArn=self._state_machine_arn, name=name, input=execution_input)

    def stop(self, execution_arn: str, *, error: str, cause: str) -> None:
        """Stop the execution; one that no longer exists is already stopped."""
        try:
            self._sfn.stop_execution(executionArn=execution_arn, error=error, cause=cause)
        except ClientError as exc:
            if error_code(exc) != "ExecutionDoesNotExist":
                raise

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        """How the execution stands (status, and error and cause once it failed); None when Step
        Functions has no such execution (never started, or closed more than 90 days ago)."""
        try:
            answer: dict[str, Any] = self._sfn.describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if error_code(exc) != "ExecutionDoesNotExist":
                raise
            return None
        return answer

    def end_wait(self, task_token: str, output: dict[str, Any]) -> bool:
        """Complete a waiting task; False (logged unless merely gone) when it could not be."""
        try:
            self._sfn.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as exc:
            if error_code(exc) not in GONE_TOKEN_ERRORS:
                logger.warning(
                    "could not end the export's wait; polling goes on", extra={"error": error_code(exc)}
                )
            return False
        except BotoCoreError as exc:
            logger.warning("could not end the export's wait; polling goes on", extra={"error": repr(exc)})
            return False
        return True

"""Step Functions "Execution Status Change" events, which moto does not emit: the local deployment
watches its executions and delivers each status change, as AWS would, to the functions whose
EventBridgeRule events in template.yaml match it (the export's safety net among them)."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

log = logging.getLogger(__name__)
Invoke = Callable[[str, Any], tuple[Any, dict[str, Any] | None]]


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule of the template: its (resolved) pattern and the function it targets."""

    pattern: dict[str, Any]
    function: str
    retries: int = 3
    name: str = ""  # the rule's name in moto's EventBridge: disabling it there loses its events


class Periodic:
    """A daemon thread calling tick() every `period` seconds from start() until stop()."""

    def __init__(self, period: float, name: str) -> None:
        self._period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self.tick()

    def tick(self) -> None:
        raise NotImplementedError


def rule_enabled(events: Any, name: str) -> bool:
    """Whether the EventBridge rule is enabled (a rule that cannot be read counts as enabled)."""
    if not name or events is None:
        return True
    try:
        return bool(events.describe_rule(Name=name)["State"] == "ENABLED")
    except Exception:  # noqa: BLE001 - a stack being stopped: deliver as before
        return True


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's matching for the patterns the template uses: a list lists the values allowed,
    a mapping matches field by field."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(matches(p, event.get(k)) for k, p in pattern.items())
    if isinstance(pattern, list):
        return event in pattern
    return bool(pattern == event)


def status_change(execution: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    def millis(value: Any) -> int | None:
        return int(value.timestamp() * 1000) if isinstance(value, datetime) else None

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [execution["executionArn"]],
        "detail": {
            "executionArn": execution["executionArn"],
            "stateMachineArn": execution["stateMachineArn"],
            "name": execution["name"],
            "status": execution["status"],
            "startDate": millis(execution.get("startDate")),
            "stopDate": millis(execution.get("stopDate")),
            "input": None,
            "output": None,
            "error": execution.get("error"),
            "cause": execution.get("cause"),
        },
    }


class ExecutionEvents(Periodic):
    """Polls the state machines' executions and emits one event per status change."""

    def __init__(
        self,
        sfn: Any,
        state_machine_arns: list[str],
        rules: list[Rule],
        invoke: Invoke,
        *,
        account: str,
        region: str,
        interval: float = 0.5,
        events: Any = None,
    ) -> None:
        self._sfn, self._arns, self._rules, self._invoke = sfn, state_machine_arns, rules, invoke
        self._events = events
        super().__init__(interval, "execution-events")
        self._account, self._region = account, region
        self._seen: dict[str, str] = {}

    def tick(self) -> None:
        try:
            self.scan()
        except Exception:
            log.exception("could not list executions")

    def scan(self) -> None:
        for arn in self._arns:
            pages = self._sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
            for execution in (e for page in pages for e in page["executions"]):
                if self._seen.get(execution["executionArn"]) == execution["status"]:
                    continue
                self._seen[execution["executionArn"]] = execution["status"]
                if execution["status"] != "RUNNING":
                    execution |= self._sfn.describe_execution(executionArn=execution["executionArn"])
                self._emit(status_change(execution, self._account, self._region))

    def _emit(self, event: dict[str, Any]) -> None:
        for rule in self._rules:
            if not rule_enabled(self._events, rule.name):
                log.info("rule %s is disabled: event for %s lost", rule.name, event["detail"]["name"])
                continue
            if matches(rule.pattern, event):
                threading.Thread(target=self._deliver, args=(rule, event), daemon=True).start()

    def _deliver(self, rule: Rule, event: dict[str, Any]) -> None:
        """Asynchronous invocation with retries, as EventBridge delivers to Lambda."""
        for _ in range(rule.retries + 1):
            _, error = self._invoke(rule.function, json.loads(json.dumps(event)))
            if error is None:
                return
            if self._stop.wait(1.0):
                return
        log.error("event for %s not delivered to %s", event["detail"]["name"], rule.function)

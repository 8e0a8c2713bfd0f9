"""Schedule events of template.yaml (EventBridge rules with a schedule expression), which moto does
not run: the local deployment invokes each scheduled function every `period` seconds instead of at
the template's rate (minutes), asynchronously as EventBridge does, and not while its previous run
is still going. Each schedule is also a rule in moto's EventBridge: `aws events disable-rule`
pauses it here as it would on AWS."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

from .execution_events import Invoke, Periodic, rule_enabled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    function: str
    expression: str  # as the template gives it, e.g. rate(5 minutes)
    rule: str  # the rule's name in moto's EventBridge


def scheduled_event(schedule: Schedule, account: str, region: str) -> dict[str, Any]:
    """The event EventBridge hands a scheduled function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{schedule.rule}"],
        "detail": {},
    }


class Schedules(Periodic):
    """Runs every schedule each `period` seconds; stop() ends it."""

    def __init__(
        self,
        events: Any,
        schedules: list[Schedule],
        invoke: Invoke,
        *,
        account: str,
        region: str,
        period: float,
    ) -> None:
        super().__init__(period, "schedules")
        self._events, self._schedules, self._invoke = events, schedules, invoke
        self._account, self._region = account, region
        self._running: dict[str, threading.Thread] = {}

    def start(self) -> Self:
        return super().start() if self._schedules else self

    def tick(self) -> None:
        for schedule in self._schedules:
            self.fire(schedule)

    def run_now(self, timeout: float = 30) -> None:
        """Every schedule's function once, now, waiting (at most `timeout` seconds) for the runs."""
        for schedule in self._schedules:
            self.fire(schedule)
        for run in list(self._running.values()):
            run.join(timeout=timeout)

    def fire(self, schedule: Schedule) -> None:
        """Invoke the schedule's function now, unless its rule is disabled or its last run goes on."""
        previous = self._running.get(schedule.rule)
        if previous is not None and previous.is_alive():
            return
        if not rule_enabled(self._events, schedule.rule):
            return
        event = scheduled_event(schedule, self._account, self._region)
        run = threading.Thread(target=self._deliver, args=(schedule, event), daemon=True)
        self._running[schedule.rule] = run
        run.start()

    def _deliver(self, schedule: Schedule, event: dict[str, Any]) -> None:
        _, error = self._invoke(schedule.function, event)
        if error is not None:
            log.warning("scheduled run of %s failed: %s", schedule.function, error)

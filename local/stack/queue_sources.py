"""SQS event sources, which moto does not run: the local deployment polls each queue a function is
subscribed to (SQS events in template.yaml) and invokes the function with batches, as Lambda does:
at most MaximumConcurrency batches at once, messages reported in batchItemFailures left on the queue
(the function may have changed their visibility), the rest deleted; a failed invocation leaves the
whole batch to come back after its visibility timeout. The queue's redrive policy does the rest.
Like Lambda's event source mapping, a function's queue is read with the function's own role, and
long-polled (a second at a time here, so that stopping is quick): a message is handed over as soon
as it arrives, and an idle poller makes one call a second, not five."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .execution_events import Invoke

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueSource:
    queue_url: str
    queue_arn: str
    function: str
    batch_size: int = 10
    max_concurrency: int = 2
    report_failures: bool = True


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda hands a function for a batch of messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class QueuePollers:
    """One thread per concurrent batch of every source; stop() ends them."""

    def __init__(
        self,
        sqs: Any,
        sources: list[QueueSource],
        invoke: Invoke,
        *,
        region: str,
        clients: Mapping[str, Any] | None = None,
    ) -> None:
        """`clients`: an SQS client per function name, signed with its role (else `sqs`)."""
        self._sqs, self._sources, self._invoke, self._region = sqs, sources, invoke, region
        self._clients = dict(clients or {})
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(source,), daemon=True, name=f"sqs-{source.function}-{i}")
            for source in sources
            for i in range(source.max_concurrency)
        ]

    def start(self) -> QueuePollers:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self, source: QueueSource) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll_once(source):
                    self._stop.wait(0.05)
            except Exception:
                log.exception("polling %s failed", source.queue_url)
                self._stop.wait(1.0)

    def poll_once(self, source: QueueSource) -> bool:
        """Receive one batch and hand it to the function; False when the queue was empty."""
        sqs = self._clients.get(source.function, self._sqs)
        messages = sqs.receive_message(
            QueueUrl=source.queue_url,
            MaxNumberOfMessages=source.batch_size,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return False
        result, error = self._invoke(source.function, sqs_event(messages, source.queue_arn, self._region))
        if error is not None:
            log.warning("%s failed on a batch of %d; it comes back later", source.function, len(messages))
            return True
        failed = set()
        if source.report_failures and isinstance(result, dict):
            failed = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        return True

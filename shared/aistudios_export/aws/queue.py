"""The request queue (SQS), as intake uses it: requests put on it in batches, and a message that
must wait hidden for its back-off."""

from __future__ import annotations

import json
from typing import Any

from ..errors import TransientUpstreamError

BATCH = 10  # SendMessageBatch's limit


class RequestQueue:
    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs = sqs
        self._url = url

    def send(self, messages: list[dict[str, Any]]) -> None:
        """Every message on the queue, as JSON, or TransientUpstreamError (sent again as a whole:
        a message's export id is stable, so a repeat starts nothing twice)."""
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            response = self._sqs.send_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "MessageBody": json.dumps(m)} for i, m in enumerate(chunk)],
            )
            if response.get("Failed"):
                raise TransientUpstreamError(
                    f"{len(response['Failed'])} entries could not be queued", code="QueueRefused"
                )

    def retry_later(self, receipt_handle: str, delay: int) -> None:
        """The received message comes back after `delay` seconds."""
        self._sqs.change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay
        )

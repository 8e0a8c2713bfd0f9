"""Who retries an export (workflow/retry.py): `retriedBy` on its record, claimed before the retry
starts, so that one export never has two retries, and given back when the retry never started."""

from __future__ import annotations

from typing import Any

from ..aws.errors import condition_held
from ..models import FAILURE_STATUSES
from .conditions import status_in

_ENDED_WITHOUT_VIDEO = sorted(s.value for s in FAILURE_STATUSES)


class RetryClaims:
    """The retry half of ExportStore (which sets `_table`)."""

    _table: Any

    def claim_retry(self, export_id: str, retry_id: str, *, replacing: str | None = None) -> bool:
        """Name `retry_id` as the retry of `export_id` (an export that ended without its video), if no
        retry is named yet, or the one named is `replacing` (a claim whose retry never started). False
        when another retry holds it."""
        values: dict[str, Any] = {":retry": retry_id}
        free = "attribute_not_exists(retriedBy)"
        if replacing is not None:
            values[":replacing"] = replacing
            free = f"({free} OR retriedBy = :replacing)"
        return condition_held(
            self._table.update_item,
            Key={"exportId": export_id},
            UpdateExpression="SET retriedBy = :retry",
            ConditionExpression=f"attribute_exists(exportId) AND {status_in(_ENDED_WITHOUT_VIDEO, values)} "
            f"AND {free}",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def release_retry(self, export_id: str, retry_id: str) -> None:
        """Give back the claim of `retry_id` on `export_id` (its start was withdrawn), if it holds it."""
        condition_held(
            self._table.update_item,
            Key={"exportId": export_id},
            UpdateExpression="REMOVE retriedBy",
            ConditionExpression="retriedBy = :retry",
            ExpressionAttributeValues={":retry": retry_id},
        )

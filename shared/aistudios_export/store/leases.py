"""One active export per project: the project's lease, an item of the exports table of its own
(`lease#<projectId>`, outside every index), taken in the same transaction as the export's record."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from ..aws.errors import condition_held, error_code
from ..errors import ProjectBusyError, TransientUpstreamError
from ..models import ExportRecord

LEASE_PREFIX = "lease#"
LEASE_ATTEMPTS = 3  # a lease released (or a transaction conflicting) between two looks: try again


class ProjectLeases:
    """The lease half of ExportStore (which sets `_table`)."""

    _table: Any

    def create_with_lease(self, record: ExportRecord, lease_expires_at: int) -> ExportRecord:
        """Store a new export and take its project's lease, both or neither.

        The lease is an item of its own (`lease#<projectId>`, outside the project index), held until
        the export reaches a final status or `lease_expires_at` (epoch seconds) passes, so a lost
        release cannot block a project forever. ProjectBusyError names the export holding it."""
        for _ in range(LEASE_ATTEMPTS):
            if self._put_with_lease(record, lease_expires_at):
                return record
            holder = self.lease_holder(record.project_id)
            if holder == record.export_id and self._is_stored(record):
                return record  # an earlier attempt of this call committed (its answer was lost)
            if holder is not None:
                raise ProjectBusyError(record.project_id, holder)
            # Released between the two calls, or a conflicting transaction: the project is free now.
        raise TransientUpstreamError(
            "the project's lease is changing hands", code="ProjectLeaseContended", retry_after=1
        )

    def _put_with_lease(self, record: ExportRecord, lease_expires_at: int) -> bool:
        """One transaction writing the record and the lease; False when it was cancelled."""
        lease = {
            "exportId": LEASE_PREFIX + record.project_id,
            "leaseHolder": record.export_id,
            "leaseExpiresAt": lease_expires_at,
        }
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": record.to_item(),
                            "ConditionExpression": "attribute_not_exists(exportId)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": lease,
                            "ConditionExpression": "attribute_not_exists(exportId) OR leaseExpiresAt < :now",
                            "ExpressionAttributeValues": {":now": int(time.time())},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            return False
        return True

    def _is_stored(self, record: ExportRecord) -> bool:
        """The record this call writes is in the table (the same export, not only its id)."""
        item = self._table.get_item(Key={"exportId": record.export_id}, ConsistentRead=True).get("Item")
        return item is not None and item.get("createdAt") == record.created_at

    def lease_holder(self, project_id: str) -> str | None:
        """The export holding the project's lease, unless there is none or it expired."""
        item = self._table.get_item(Key={"exportId": LEASE_PREFIX + project_id}, ConsistentRead=True).get(
            "Item"
        )
        if not item or int(item.get("leaseExpiresAt", 0)) < time.time():
            return None
        return str(item["leaseHolder"])

    def release_lease(self, project_id: str, export_id: str) -> None:
        """Free the project, if this export still holds it (idempotent)."""
        condition_held(
            self._table.delete_item,
            Key={"exportId": LEASE_PREFIX + project_id},
            ConditionExpression="leaseHolder = :me",
            ExpressionAttributeValues={":me": export_id},
        )

    def withdraw(self, record: ExportRecord) -> None:
        """Remove an export that AI Studios never rendered, and free its project, both or neither."""
        self._table.meta.client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self._table.name, "Key": {"exportId": record.export_id}}},
                {
                    "Delete": {
                        "TableName": self._table.name,
                        "Key": {"exportId": LEASE_PREFIX + record.project_id},
                        "ConditionExpression": "attribute_not_exists(exportId) OR leaseHolder = :me",
                        "ExpressionAttributeValues": {":me": record.export_id},
                    }
                },
            ]
        )

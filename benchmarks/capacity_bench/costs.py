"""What a volume costs a month at on-demand list prices, us-east-1 (checked November 2026; free
tiers not applied), from what one export uses. Storage is apart: what a team keeps, and for how
long, is its own lifecycle rule."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.polling_bench.costs import LAMBDA_GB_SECOND, LAMBDA_REQUEST, SFN_PER_TRANSITION

from .figures import PerExport

HOURS_A_MONTH = 730
S3_PUT = 0.005 / 1000
S3_GB_MONTH = 0.023  # S3 Standard, first 50 TB
DDB_WRITE = 0.625 / 1_000_000  # on-demand write request unit
DDB_READ = 0.125 / 1_000_000
SNS_PUBLISH = 0.50 / 1_000_000
EVENTS_PUT = 1.00 / 1_000_000  # custom events
SQS_REQUEST = 0.40 / 1_000_000
XRAY_TRACE = 5.00 / 1_000_000  # traces recorded
LOGS_GB = 0.50  # CloudWatch Logs ingestion
LOG_BYTES = 5_000  # an export's log lines, all functions
# the secrets (2 x $0.40), alarms (about $2.50), the operations topic's key ($1), the dashboard ($3)
FIXED_A_MONTH = 7.30
BY_PROJECT_WRITES = 25  # byProject projects ALL: each table write is written to it too


@dataclass(frozen=True)
class MonthlyCost:
    per_export: dict[str, float]  # dollars by service for one export
    exports: float
    xray: float
    fixed: float
    storage: float  # one month's videos kept a month

    @property
    def per_export_total(self) -> float:
        return sum(self.per_export.values())

    @property
    def variable(self) -> float:
        return self.per_export_total * self.exports + self.xray

    @property
    def total(self) -> float:
        return self.variable + self.fixed


def per_export(one: PerExport) -> dict[str, float]:
    return {
        "Step Functions": one.transitions * SFN_PER_TRANSITION,
        "Lambda": one.gb_seconds * LAMBDA_GB_SECOND + one.invocations * LAMBDA_REQUEST,
        "S3 requests": one.s3_puts * S3_PUT,
        "DynamoDB": (one.table_writes + one.index_writes + BY_PROJECT_WRITES) * DDB_WRITE
        + one.table_reads * DDB_READ,
        "SNS + EventBridge": one.notifications * SNS_PUBLISH + one.lifecycle_events * EVENTS_PUT,
        "SQS": one.queue_requests * SQS_REQUEST,
        "CloudWatch Logs": LOG_BYTES / 1e9 * LOGS_GB,
    }


def xray_traces_a_second(invocations_a_second: float) -> float:
    """X-Ray's default rule: the first request each second, then 5% of the rest."""
    return min(invocations_a_second, 1.0) + 0.05 * max(invocations_a_second - 1.0, 0.0)


def monthly(exports_per_hour: float, one: PerExport) -> MonthlyCost:
    exports = exports_per_hour * HOURS_A_MONTH
    invocations = exports_per_hour / 3600 * one.invocations
    xray = xray_traces_a_second(invocations) * 3600 * HOURS_A_MONTH * XRAY_TRACE
    storage = exports * one.video_gib * S3_GB_MONTH
    return MonthlyCost(per_export(one), exports, xray, FIXED_A_MONTH, storage)

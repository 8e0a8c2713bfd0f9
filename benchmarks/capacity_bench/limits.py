"""The limits on throughput, each as a need (from the exports arriving a second and what one export
uses) against a limit, with what to raise and where the figure comes from. Defaults are the
documented ones for a us-east-1 account (checked November 2026; other regions' are often lower);
`Overrides` replaces any of them, as a raised quota or another template parameter would."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .figures import PerExport

SFN_QUOTAS = "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html"
LAMBDA_SCALING = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html"
DDB_QUOTAS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"
S3_PERFORMANCE = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html"
SNS_QUOTAS = "https://docs.aws.amazon.com/general/latest/gr/sns.html"
EVENTS_QUOTAS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"

Need = Callable[[float, PerExport], float]  # (exports a second, one export) -> need, in the limit's unit


@dataclass(frozen=True)
class Limit:
    key: str
    what: str
    unit: str
    default: float | None  # None: not known (AI Studios publishes no rate limit)
    raise_by: str  # the quota (Service Quotas name) or parameter to raise
    source: str
    need: Need


def _starts(rate: float, one: PerExport) -> float:
    return rate  # one start (a queue message, an API call, an execution) per export


LIMITS: tuple[Limit, ...] = (
    Limit(
        "aistudios",
        "AI Studios API calls",
        "req/s",
        None,
        "ask DeepBrain; the client backs off on 429 and honours Retry-After",
        "docs/how-it-works.md",
        lambda rate, one: rate * one.aistudios_requests,
    ),
    Limit(
        "queue",
        "request queue starts (MaxConcurrentStarts / start time)",
        "starts/s",
        None,
        "parameter MaxConcurrentStarts (2-1000)",
        "template.yaml",
        _starts,
    ),
    Limit(
        "api",
        "API stage steady rate, if every export is a POST /exports",
        "req/s",
        None,
        "the stage's ThrottlingRateLimit (template.yaml) and the account's API Gateway throttle",
        "template.yaml",
        _starts,
    ),
    Limit(
        "start_execution",
        "Step Functions StartExecution refill",
        "calls/s",
        300.0,
        "Step Functions: StartExecution throttle token refill rate",
        SFN_QUOTAS,
        _starts,
    ),
    Limit(
        "transitions",
        "Step Functions Standard state transitions refill",
        "transitions/s",
        1500.0,
        "Step Functions: StateTransition throttle token refill rate",
        SFN_QUOTAS,
        lambda rate, one: rate * one.transitions,
    ),
    Limit(
        "open_executions",
        "Step Functions open executions",
        "executions",
        1_000_000.0,
        "Step Functions: Maximum open executions",
        SFN_QUOTAS,
        lambda rate, one: rate * one.lifetime_seconds,
    ),
    Limit(
        "lambda",
        "Lambda concurrent executions (account)",
        "concurrent",
        1000.0,
        "AWS Lambda: Concurrent executions",
        LAMBDA_SCALING,
        lambda rate, one: rate * one.lambda_seconds,
    ),
    Limit(
        "ddb_table",
        "DynamoDB on-demand table writes",
        "WRU/s",
        40_000.0,
        "DynamoDB: Table-level write throughput limit (on-demand)",
        DDB_QUOTAS,
        lambda rate, one: rate * one.table_writes,
    ),
    Limit(
        "ddb_partition",
        "DynamoDB byStatusKeys partition (one status)",
        "WCU/s",
        1000.0,
        "none: a partition's 1,000 WCU is fixed (docs/operations.md, The status index)",
        DDB_QUOTAS,
        lambda rate, one: rate * one.status_partition_writes,
    ),
    Limit(
        "s3_puts",
        "S3 PUTs, as if in one partitioned prefix",
        "PUT/s",
        3500.0,
        "none: S3 partitions busy prefixes by itself (exports/{projectId}/ spreads them)",
        S3_PERFORMANCE,
        lambda rate, one: rate * one.s3_puts,
    ),
    Limit(
        "sns",
        "SNS Publish (standard topics)",
        "msg/s",
        30_000.0,
        "Amazon SNS: Publish API throughput (us-east-1)",
        SNS_QUOTAS,
        lambda rate, one: rate * one.notifications,
    ),
    Limit(
        "eventbridge",
        "EventBridge PutEvents",
        "entries/s",
        10_000.0,
        "Amazon EventBridge: PutEvents throttle limit in transactions per second",
        EVENTS_QUOTAS,
        lambda rate, one: rate * one.lifecycle_events,
    ),
)


@dataclass(frozen=True)
class Assessed:
    limit: Limit
    need: float
    value: float | None

    @property
    def use(self) -> float | None:
        """The share of the limit used (1.0: reached); None when the limit is not known."""
        return None if self.value is None else self.need / self.value


def limit_values(settings: Mapping[str, float], overrides: Mapping[str, float]) -> dict[str, float | None]:
    """Each limit's value: the default, the template's own for the queue and the API, then overrides."""
    values: dict[str, float | None] = {limit.key: limit.default for limit in LIMITS}
    values["queue"] = settings["max_concurrent_starts"] / settings["start_seconds"]
    values["api"] = settings["api_rate"]
    values.update(overrides)
    return values


def assess(exports_per_hour: float, one: PerExport, values: Mapping[str, float | None]) -> list[Assessed]:
    rate = exports_per_hour / 3600
    return [Assessed(limit, limit.need(rate, one), values[limit.key]) for limit in LIMITS]


def first_reached(rows: list[Assessed], ways_in: frozenset[str] = frozenset({"queue"})) -> Assessed:
    """The limit that runs out first as the volume grows: the highest share used, among the known
    limits of the way in the exports take (the queue by default; the API is the other way in)."""
    known = [
        row
        for row in rows
        if row.use is not None and (row.limit.key not in {"queue", "api"} or row.limit.key in ways_in)
    ]
    return max(known, key=lambda row: row.use or 0.0)

"""State machine failure path: record the final status (FAILED or TIMED_OUT) and notify once."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Settings
from aistudios_export.observability import logger, metrics
from aistudios_export.service import Dependencies, record_failure

deps = Dependencies(Settings.from_env(require=("table_name", "topic_arn")))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(exportId=event.get("exportId"))
    result = record_failure(deps, event)
    metrics.add_metric(name="ExportsFailed", unit=MetricUnit.Count, value=1)
    return result

"""State machine step: stream the finished video into S3, verify it, mark SUCCEEDED and notify."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.observability import count_ending, logger, metrics
from aistudios_export.payloads import delivery_output
from aistudios_export.workflow import deliver_export

adapters = Adapters(Settings.from_env(require=("table_name", "bucket_name", "topic_arn")))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    export_id = event["exportId"]
    logger.append_keys(exportId=export_id)
    ending = deliver_export(adapters, export_id)
    count_ending(ending.record.status, ending.changed)
    result = delivery_output(ending.record)
    if ending.changed:
        metrics.add_metric(name="DeliveredBytes", unit=MetricUnit.Bytes, value=result["size"])
    return result

"""State machine step: stream the finished video into S3, verify it, mark SUCCEEDED and notify."""

import time

from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.observability import about_export, count_delivery, logger, metrics
from aistudios_export.workflow.deliver import deliver_export
from aistudios_export.workflow.payloads import delivery_output

adapters = Adapters(Settings.from_env(require=("table_name", "bucket_name", "topic_arn")))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    about_export(event["exportId"])
    started = time.monotonic()
    ending = deliver_export(adapters, event["exportId"])
    count_delivery(ending.record, ending.changed, time.monotonic() - started)
    return delivery_output(ending.record)

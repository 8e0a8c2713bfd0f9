"""Request queue consumer: request files put under requests/ and Export Requested events start
exports, a batch at a time; a message that must wait is reported failed and comes back later."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.intake import consumer
from aistudios_export.observability import export_scope, logger, metrics

adapters = Adapters(
    Settings.from_env(require=("table_name", "state_machine_arn", "bucket_name", "request_queue_url"))
)
# A batch whose every request must wait is a normal answer (all reported as failures, each hidden for
# its back-off), not a function error that would trip the errors alarm.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    message = consumer.QueueMessage(record.body, int(record.attributes.approximate_receive_count))
    with export_scope():  # each message's export names the log lines of its own processing only
        consumer.process(adapters, message, record.receipt_handle, lambda_context)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event, record_handler, processor, context)

"""State machine failure path, and the safety net for executions that ended without reaching it:
record the final status (FAILED, TIMED_OUT or CANCELLED) and notify once."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.observability import about_export, count_ending, logger, metrics
from aistudios_export.workflow.endings import record_execution_end, record_failure
from aistudios_export.workflow.payloads import FailureEvent, failure_output

adapters = Adapters(Settings.from_env(require=("table_name", "topic_arn")))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    ended = FailureEvent.from_event(event)
    about_export(ended.export_id)
    if ended.execution_ended:
        ending = record_execution_end(adapters, ended.export_id, ended.failure, ended.execution_arn)
    else:
        ending = record_failure(adapters, ended.export_id, ended.failure)
    if ending is not None:
        count_ending(ending.record.status, ending.changed)
    return failure_output(ending.record if ending else None, ended.failure)

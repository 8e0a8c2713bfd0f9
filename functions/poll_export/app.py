"""State machine step: read the export's progress from AI Studios and choose the next wait."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.observability import about_export, count_poll, logger, metrics
from aistudios_export.workflow.payloads import PollTask, poll_output
from aistudios_export.workflow.poll import poll_export

adapters = Adapters(Settings.from_env(require=("table_name",)))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    task = PollTask.from_event(event)
    about_export(task.export_id, task.project_id)
    result = poll_export(
        adapters,
        task.export_id,
        task.project_id,
        task.requested_at,
        deadline=task.deadline,
        samples=task.samples,
    )
    count_poll(result, polls=task.polls + 1, requested_at=task.requested_at, deadline=task.deadline)
    return poll_output(result, polls=task.polls + 1)

"""State machine step: read the export's progress from AI Studios and choose the next wait."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.observability import logger
from aistudios_export.payloads import PollTask, poll_output
from aistudios_export.workflow import poll_export

adapters = Adapters(Settings.from_env(require=("table_name",)))


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    task = PollTask.from_event(event)
    logger.append_keys(exportId=task.export_id)
    result = poll_export(
        adapters,
        task.export_id,
        task.project_id,
        task.requested_at,
        deadline=task.deadline,
        samples=task.samples,
    )
    return poll_output(result)

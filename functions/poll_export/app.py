"""State machine step: read the export's progress from AI Studios and choose the next wait."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Settings
from aistudios_export.observability import logger
from aistudios_export.service import Dependencies, poll_export

deps = Dependencies(Settings.from_env(require=("table_name",)))


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(exportId=event.get("exportId"))
    return poll_export(deps, event)

"""DELETE /exports/{exportId}: stop the export; it ends CANCELLED, with a notification."""

from __future__ import annotations  # route parameters are declared by name (api/routes.py)

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.api import responses, routes, views
from aistudios_export.observability import count_ending, logger, metrics
from aistudios_export.workflow.endings import cancel_export

adapters = Adapters(Settings.from_env(require=("table_name", "topic_arn", "bucket_name")))
app = responses.api_resolver()


@app.delete("/exports/<exportId>", **routes.CANCEL_EXPORT)
def cancel(exportId: routes.ExportIdPath):  # type: ignore[no-untyped-def]
    ending = cancel_export(adapters, views.known_export_id(exportId))
    count_ending(ending.record.status, ending.changed)
    link = views.resource_link(app.current_event, f"/exports/{exportId}")
    return views.json_response(200, views.export_view(adapters, ending.record, link))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

"""DELETE /exports/{exportId}: stop the export; it ends CANCELLED, with a notification."""

from __future__ import annotations  # route parameters are declared by name (api_docs.py)

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings, api_docs, http_errors, http_view
from aistudios_export.endings import cancel_export
from aistudios_export.observability import count_ending, logger, metrics

adapters = Adapters(Settings.from_env(require=("table_name", "topic_arn", "bucket_name")))
app = http_errors.api_resolver()


@app.delete("/exports/<exportId>", **api_docs.CANCEL_EXPORT)
def cancel(exportId: api_docs.ExportIdPath):  # type: ignore[no-untyped-def]
    ending = cancel_export(adapters, http_view.known_export_id(exportId))
    count_ending(ending.record.status, ending.changed)
    link = http_view.resource_link(app.current_event, f"/exports/{exportId}")
    return http_view.json_response(200, http_view.export_view(adapters, ending.record, link))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

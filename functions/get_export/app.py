"""GET /exports/{exportId}: the export record, with a presigned link to the video once delivered."""

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import ExportNotFoundError, Settings
from aistudios_export.api import json_response, resource_link
from aistudios_export.observability import logger
from aistudios_export.service import Dependencies, export_view

deps = Dependencies(Settings.from_env(require=("table_name", "bucket_name")))
app = APIGatewayRestResolver()


@app.get("/exports/<export_id>")
def get_export(export_id: str):  # type: ignore[no-untyped-def]
    try:
        record = deps.store.get(export_id)
    except ExportNotFoundError:
        return json_response(404, {"error": "ExportNotFound", "message": f"no export with id {export_id}"})
    return json_response(
        200, export_view(deps, record, resource_link(app.current_event, f"/exports/{export_id}"))
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

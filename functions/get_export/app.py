"""GET /exports/{exportId}: the export record, with a presigned link to the video once delivered.
GET /exports?projectId=...: a project's exports, newest first."""

import re

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import ExportNotFoundError, Settings
from aistudios_export.api import internal_error_response, json_response, resource_link
from aistudios_export.models import OBJECT_ID
from aistudios_export.observability import logger
from aistudios_export.service import Dependencies, export_view

EXPORT_ID = re.compile(r"^[0-9a-f]{32}$")
deps = Dependencies(Settings.from_env(require=("table_name", "bucket_name")))
app = APIGatewayRestResolver()
app.exception_handler(Exception)(internal_error_response)


@app.get("/exports/<export_id>")
def get_export(export_id: str):  # type: ignore[no-untyped-def]
    if not EXPORT_ID.match(export_id):
        return json_response(404, {"error": "ExportNotFound", "message": "no export with this id"})
    try:
        record = deps.store.get(export_id)
    except ExportNotFoundError:
        return json_response(404, {"error": "ExportNotFound", "message": f"no export with id {export_id}"})
    return json_response(
        200, export_view(deps, record, resource_link(app.current_event, f"/exports/{export_id}"))
    )


@app.get("/exports")
def list_exports():  # type: ignore[no-untyped-def]
    project_id = (app.current_event.get_query_string_value("projectId") or "").lower()
    if not OBJECT_ID.match(project_id):
        return json_response(
            400,
            {
                "error": "ValidationError",
                "message": "projectId: must be a 24-character hexadecimal ObjectId",
                "errors": [{"field": "projectId", "message": "must be a 24-character hexadecimal ObjectId"}],
            },
        )
    records = deps.store.list_by_project(project_id)
    return json_response(
        200,
        {
            "projectId": project_id,
            "exports": [
                export_view(deps, r, resource_link(app.current_event, f"/exports/{r.export_id}"))
                for r in records
            ],
        },
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

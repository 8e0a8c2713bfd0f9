"""GET /exports/{exportId}: the export record, with a presigned link to the video once delivered.
GET /exports/{exportId}/video: a redirect to a freshly signed link to the video (bookmarkable).
GET /exports?projectId=...: a project's exports, newest first."""

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings, http_view
from aistudios_export.observability import logger

adapters = Adapters(Settings.from_env(require=("table_name", "bucket_name")))
app = APIGatewayRestResolver()
http_view.register_error_handlers(app)


@app.get("/exports/<export_id>")
def export_by_id(export_id: str):  # type: ignore[no-untyped-def]
    return http_view.json_response(200, http_view.get_export(adapters, app.current_event, export_id))


@app.get("/exports/<export_id>/video")
def video_of_export(export_id: str):  # type: ignore[no-untyped-def]
    return http_view.video_redirect(adapters, export_id)


@app.get("/exports")
def exports_of_project():  # type: ignore[no-untyped-def]
    project_id = app.current_event.get_query_string_value("projectId")
    return http_view.json_response(200, http_view.list_exports(adapters, app.current_event, project_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

"""GET /exports/{exportId} (with a fresh video link once delivered), .../video, GET /exports (paged)."""

from __future__ import annotations  # route parameters are declared by name (api/routes.py)

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.api import responses, routes, views
from aistudios_export.observability import logger

adapters = Adapters(Settings.from_env(require=("table_name", "bucket_name")))
app = responses.api_resolver()


@app.get("/exports/<exportId>", **routes.GET_EXPORT)
def export_by_id(exportId: routes.ExportIdPath):  # type: ignore[no-untyped-def]
    return views.json_response(200, views.get_export(adapters, app.current_event, exportId))


@app.get("/exports/<exportId>/video", **routes.GET_EXPORT_VIDEO)
def video_of_export(exportId: routes.ExportIdPath):  # type: ignore[no-untyped-def]
    return views.video_redirect(adapters, exportId)


@app.get("/exports", **routes.LIST_EXPORTS)
def list_exports(  # type: ignore[no-untyped-def]
    project_id: routes.ProjectIdQuery = None,
    status: routes.StatusQuery = None,
    limit: routes.LimitQuery = routes.DEFAULT_LIMIT,
    next_token: routes.NextTokenQuery = None,
):
    page = views.list_exports(adapters, app.current_event, project_id, status, limit, next_token)
    return views.json_response(200, page)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

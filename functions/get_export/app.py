"""GET /exports/{exportId}: the record, with a presigned video link once delivered; .../video: a
redirect to a fresh link (bookmarkable); GET /exports: newest first, by project and/or status, paged."""

from __future__ import annotations  # route parameters are declared by name (api_docs.py)

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings, api_docs, http_errors, http_view
from aistudios_export.observability import logger

adapters = Adapters(Settings.from_env(require=("table_name", "bucket_name")))
app = http_errors.api_resolver()


@app.get("/exports/<exportId>", **api_docs.GET_EXPORT)
def export_by_id(exportId: api_docs.ExportIdPath):  # type: ignore[no-untyped-def]
    return http_view.json_response(200, http_view.get_export(adapters, app.current_event, exportId))


@app.get("/exports/<exportId>/video", **api_docs.GET_EXPORT_VIDEO)
def video_of_export(exportId: api_docs.ExportIdPath):  # type: ignore[no-untyped-def]
    return http_view.video_redirect(adapters, exportId)


@app.get("/exports", **api_docs.LIST_EXPORTS)
def list_exports(  # type: ignore[no-untyped-def]
    project_id: api_docs.ProjectIdQuery = None,
    status: api_docs.StatusQuery = None,
    limit: api_docs.LimitQuery = api_docs.DEFAULT_LIMIT,
    next_token: api_docs.NextTokenQuery = None,
):
    page = http_view.list_exports(adapters, app.current_event, project_id, status, limit, next_token)
    return http_view.json_response(200, page)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

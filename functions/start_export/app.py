"""POST /exports (and /exports/{exportId}/retry): record an export, start its workflow, ask AI Studios."""

from __future__ import annotations  # route parameters are declared by name (api/routes.py)

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.api import responses, routes, views
from aistudios_export.api.retry import RETRY_EXPORT, submit_retry
from aistudios_export.api.submission import submit_request
from aistudios_export.observability import count_started, logger, metrics

adapters = Adapters(Settings.from_env(require=("table_name", "state_machine_arn")))
app = responses.api_resolver()


@app.post("/exports", **routes.CREATE_EXPORT)
def create_export(idempotency_key: routes.IdempotencyKeyHeader = None):  # type: ignore[no-untyped-def]
    body = views.parse_json_body(app.current_event)
    started = submit_request(
        adapters, body, trigger="api", idempotency_key=idempotency_key, **views.call(app)
    )
    count_started()
    return views.accepted_response(app.current_event, started)


@app.post("/exports/<exportId>/retry", **RETRY_EXPORT)
def retry(exportId: routes.ExportIdPath, idempotency_key: routes.IdempotencyKeyHeader = None):  # type: ignore[no-untyped-def]
    export_id = views.known_export_id(exportId)
    started = submit_retry(adapters, export_id, idempotency_key=idempotency_key, **views.call(app))
    count_started()
    return views.accepted_response(app.current_event, started)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

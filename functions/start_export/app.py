"""POST /exports: validate, record the export, start its workflow, ask AI Studios to render it."""

from __future__ import annotations  # route parameters are declared by name (api/routes.py)

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.api import responses, routes, views
from aistudios_export.api.submission import submit_request
from aistudios_export.observability import count_started, logger, metrics

adapters = Adapters(Settings.from_env(require=("table_name", "state_machine_arn")))
app = responses.api_resolver()


@app.post("/exports", **routes.CREATE_EXPORT)
def create_export(idempotency_key: routes.IdempotencyKeyHeader = None):  # type: ignore[no-untyped-def]
    started = submit_request(
        adapters,
        views.parse_json_body(app.current_event),
        trigger="api",
        caller=views.caller_identity(app.current_event),
        idempotency_key=idempotency_key,
        lambda_context=app.lambda_context,
        webhook_receiver=views.resource_link(app.current_event, "/webhooks"),
        received_at=app.current_event.request_context.request_time_epoch / 1000,
    )
    count_started()
    return views.accepted_response(app.current_event, started)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

"""POST /exports: validate, record the export, start its workflow, ask AI Studios to render it."""

from __future__ import annotations  # route parameters are declared by name (api_docs.py)

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings, api_docs, http_errors, http_view
from aistudios_export.observability import count_started, logger, metrics
from aistudios_export.submission import submit_request

adapters = Adapters(Settings.from_env(require=("table_name", "state_machine_arn")))
app = http_errors.api_resolver()


@app.post("/exports", **api_docs.CREATE_EXPORT)
def create_export(idempotency_key: api_docs.IdempotencyKeyHeader = None):  # type: ignore[no-untyped-def]
    started = submit_request(
        adapters,
        http_view.parse_json_body(app.current_event),
        trigger="api",
        caller=http_view.caller_identity(app.current_event),
        idempotency_key=idempotency_key,
        lambda_context=app.lambda_context,
        webhook_receiver=http_view.resource_link(app.current_event, "/webhooks"),
    )
    count_started()
    return http_view.accepted_response(app.current_event, started)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

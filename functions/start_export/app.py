"""POST /exports: validate, record the export, start its workflow, ask AI Studios to render it."""

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings, http_view
from aistudios_export.observability import logger, metrics
from aistudios_export.submission import submit_request

adapters = Adapters(Settings.from_env(require=("table_name", "state_machine_arn")))
app = APIGatewayRestResolver()
http_view.register_error_handlers(app)


@app.post("/exports")
def create_export():  # type: ignore[no-untyped-def]
    event = app.current_event
    started = submit_request(
        adapters,
        http_view.parse_json_body(event),
        trigger="api",
        caller=http_view.caller_identity(event),
        idempotency_key=event.headers.get("Idempotency-Key"),
        lambda_context=app.lambda_context,
    )
    metrics.add_metric(name="ExportsStarted", unit=MetricUnit.Count, value=1)
    return http_view.accepted_response(event, started)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

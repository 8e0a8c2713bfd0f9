"""POST /exports: validate, request the export from AI Studios, store it, start its workflow."""

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import ExportPipelineError, RequestValidationError, Settings
from aistudios_export.api import (
    idempotency_conflict_response,
    internal_error_response,
    json_response,
    parse_json_body,
    resource_link,
    upstream_response,
    validation_response,
)
from aistudios_export.observability import logger, metrics
from aistudios_export.service import Dependencies
from aistudios_export.submission import submit_export

deps = Dependencies(Settings.from_env(require=("table_name", "state_machine_arn", "topic_arn")))
app = APIGatewayRestResolver()
app.exception_handler(Exception)(internal_error_response)
app.exception_handler(RequestValidationError)(validation_response)
app.exception_handler(ExportPipelineError)(upstream_response)
app.exception_handler([IdempotencyValidationError, IdempotencyAlreadyInProgressError])(
    idempotency_conflict_response
)


@app.post("/exports")
def create_export():  # type: ignore[no-untyped-def]
    event = app.current_event
    started = submit_export(
        deps,
        parse_json_body(event),
        trigger="api",
        idempotency_key=event.headers.get("Idempotency-Key"),
        lambda_context=app.lambda_context,
    )
    metrics.add_metric(name="ExportsRequested", unit=MetricUnit.Count, value=1)
    link = resource_link(event, f"/exports/{started['exportId']}")
    return json_response(202, {**started, "links": {"self": link}}, {"Location": link})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

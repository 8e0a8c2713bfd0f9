"""POST /exports: validate, request the export from AI Studios, store it, start its workflow."""

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import ExportPipelineError, RequestValidationError, Settings, parse_export_request
from aistudios_export.api import (
    internal_error_response,
    json_response,
    parse_json_body,
    resource_link,
    upstream_response,
    validation_response,
)
from aistudios_export.observability import logger, metrics
from aistudios_export.service import Dependencies, start_export

deps = Dependencies(Settings.from_env(require=("table_name", "state_machine_arn", "topic_arn")))
app = APIGatewayRestResolver()
app.exception_handler(Exception)(internal_error_response)
app.exception_handler(RequestValidationError)(validation_response)
app.exception_handler(ExportPipelineError)(upstream_response)


@app.post("/exports")
def create_export():  # type: ignore[no-untyped-def]
    request = parse_export_request(parse_json_body(app.current_event))
    record = start_export(deps, request, trigger="api")
    metrics.add_metric(name="ExportsStarted", unit=MetricUnit.Count, value=1)
    link = resource_link(app.current_event, f"/exports/{record.export_id}")
    body = {"exportId": record.export_id, "status": record.status.value, "links": {"self": link}}
    return json_response(202, body, {"Location": link})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

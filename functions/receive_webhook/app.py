"""POST /webhooks/{exportId}/{token}: AI Studios' webhook for one export, checked against the
progress API, taken once, and forwarded signed to the caller's own webhookUrl (see webhooks.py)."""

from __future__ import annotations  # route parameters are declared by name (api_docs.py)

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings, api_docs, http_errors, http_view
from aistudios_export.observability import count_webhook, logger, metrics
from aistudios_export.webhooks import receive_webhook

adapters = Adapters(Settings.from_env(require=("table_name", "webhook_secret_id")))
app = http_errors.api_resolver()


@app.post("/webhooks/<exportId>/<token>", **api_docs.RECEIVE_WEBHOOK)
def webhook(exportId: api_docs.ExportIdPath, token: api_docs.WebhookTokenPath) -> Response[str]:
    answer = receive_webhook(adapters, exportId, token, app.current_event.decoded_body)
    count_webhook(answer.status)
    if answer.status == 404:  # no detail: not even that the export exists
        return Response(404, content_types.APPLICATION_JSON, "", {"Cache-Control": "no-store"})
    return http_view.json_response(answer.status, answer.body)


@logger.inject_lambda_context(log_event=False, clear_state=True)  # its path carries the token: never logged
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

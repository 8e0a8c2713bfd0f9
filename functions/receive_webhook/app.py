"""POST /webhooks/{exportId}/{token}: AI Studios' webhook for one export, checked against the
progress API, taken once, and forwarded signed to the caller's own webhookUrl (see webhooks/receiver.py)."""

from __future__ import annotations  # route parameters are declared by name (api/routes.py)

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.api import responses, routes, views
from aistudios_export.observability import count_webhook, logger, metrics
from aistudios_export.webhooks.receiver import receive_webhook

adapters = Adapters(Settings.from_env(require=("table_name", "webhook_secret_id")))
app = responses.api_resolver()


@app.post("/webhooks/<exportId>/<token>", **routes.RECEIVE_WEBHOOK)
def webhook(exportId: routes.ExportIdPath, token: routes.WebhookTokenPath) -> Response[str]:
    answer = receive_webhook(adapters, exportId, token, views.body_bytes(app.current_event))
    count_webhook(answer.status)
    if answer.status == 404:  # no detail: not even that the export exists
        return Response(404, content_types.APPLICATION_JSON, "", {"Cache-Control": "no-store"})
    return views.json_response(answer.status, answer.body)


@logger.inject_lambda_context(log_event=False, clear_state=True)  # its path carries the token: never logged
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

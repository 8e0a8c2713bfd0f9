"""The exports API over HTTP: one method per route, each error answer turned into a CliError."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from .endpoint import Endpoint
from .exits import CliError, Exit, exit_for_http

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 35.0  # POST /exports may take up to API Gateway's 29 s


class ExportsApi:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "aistudios-export-cli"
        self._session.auth = endpoint.auth

    def start(
        self,
        project_id: str,
        resolution: str | None,
        workspace_id: str | None,
        name: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body = {
            "projectId": project_id,
            "resolution": resolution,
            "workspaceId": workspace_id,
            "name": name,
            "metadata": metadata or None,
        }
        return self._call("POST", "/exports", json={k: v for k, v in body.items() if v is not None})

    def retry(self, export_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._call("POST", f"/exports/{quote(export_id, safe='')}/retry", headers=headers)

    def get(self, export_id: str) -> dict[str, Any]:
        return self._call("GET", f"/exports/{quote(export_id, safe='')}")

    def cancel(self, export_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/exports/{quote(export_id, safe='')}")

    def list_page(
        self, project_id: str | None, status: str | None, limit: int, next_token: str | None
    ) -> dict[str, Any]:
        params = {"projectId": project_id, "status": status, "limit": str(limit), "nextToken": next_token}
        return self._call("GET", "/exports", params={k: v for k, v in params.items() if v is not None})

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self.endpoint.url + path
        try:
            response = self._session.request(
                method, url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), allow_redirects=False, **kwargs
            )
        except requests.ConnectionError as exc:
            raise CliError(
                f"cannot reach the API at {self.endpoint.url} (from {self.endpoint.source}): {_reason(exc)}",
                Exit.API,
                code="ConnectionError",
                transient=True,
            ) from None
        except requests.Timeout:
            raise CliError(
                f"the API at {self.endpoint.url} did not answer in time",
                Exit.API,
                code="Timeout",
                transient=True,
            ) from None
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if response.ok and isinstance(body, dict):
            return body
        raise api_error(response.status_code, body, method, path)


def api_error(status_code: int, body: Any, method: str, path: str) -> CliError:
    """The API's error answer {"error": {"code", "message", "field"?}} (from every route, API Gateway's own
    answers included) as a CliError; anything else is named by its HTTP status."""
    transient = status_code == 429 or status_code >= 500
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not error.get("message"):
        return CliError(
            f"{method} {path} answered HTTP {status_code} without an error body",
            exit_for_http(status_code),
            transient=transient,
        )
    code, field = str(error.get("code") or status_code), error.get("field")
    message = str(error["message"])
    if field and field not in message:
        message = f"{field}: {message}"
    if error.get("activeExportId") and str(error["activeExportId"]) not in message:
        message += f" (export {error['activeExportId']} is in progress)"
    return CliError(
        f"{message} [{code}, HTTP {status_code}]", exit_for_http(status_code), code, field, transient
    )


def _reason(exc: requests.ConnectionError) -> str:
    """The innermost cause of a connection error (e.g. "Connection refused"), without urllib3's wrapping."""
    cause: BaseException = exc
    while cause.__context__ is not None or cause.__cause__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    text = str(cause) or type(cause).__name__
    return text.split("] ", 1)[-1] if text.startswith("[Errno") else text

"""SigV4 signing of API requests (the deployed API uses IAM auth), with botocore's own signer."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import requests

from .exits import CliError, Exit

if TYPE_CHECKING:
    from botocore.credentials import Credentials

SERVICE = "execute-api"
# https://{api-id}.execute-api.{region}.amazonaws.com[.cn]/{stage}: the region is in the host name.
_EXECUTE_API_HOST = re.compile(
    r"^[a-z0-9]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$"
)


def region_of(host: str) -> str | None:
    """The region of an execute-api host name, or None for any other host (a custom domain)."""
    match = _EXECUTE_API_HOST.match(host.lower())
    return match.group(1) if match else None


class SigV4(requests.auth.AuthBase):
    """Signs each request as it is sent, over the final URL, headers and body, so what is signed is
    exactly what goes on the wire; refreshable credentials (SSO, a role) are re-read every time."""

    def __init__(self, credentials: Credentials, region: str) -> None:
        self._credentials = credentials
        self.region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import BotoCoreError

        body = request.body or b""
        aws_request = AWSRequest(
            method=request.method,
            url=request.url,
            data=body.encode() if isinstance(body, str) else body,
            headers=dict(request.headers),
        )
        try:  # refreshing credentials can fail (an expired SSO session, a role that cannot be assumed)
            frozen = self._credentials.get_frozen_credentials()
        except BotoCoreError as exc:
            raise CliError(f"AWS credentials: {exc}", Exit.API) from None
        SigV4Auth(frozen, SERVICE, self.region).add_auth(aws_request)
        request.headers.update(dict(aws_request.headers.items()))
        return request

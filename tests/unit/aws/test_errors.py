from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from aistudios_export import TransientUpstreamError
from aistudios_export.aws.errors import transient_aws_errors

pytestmark = pytest.mark.unit


def test_throttling_and_connection_errors_from_aws_become_transient() -> None:
    def raising(exc: Exception) -> Any:
        @transient_aws_errors
        def step() -> None:
            raise exc

        return step

    throttled = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")
    with pytest.raises(TransientUpstreamError, match="ProvisionedThroughputExceededException"):
        raising(throttled)()
    with pytest.raises(TransientUpstreamError):
        raising(EndpointConnectionError(endpoint_url="https://s3"))()
    server_error = ClientError(
        {"Error": {"Code": "Odd"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject"
    )
    with pytest.raises(TransientUpstreamError):
        raising(server_error)()
    denied = ClientError(
        {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "PutObject"
    )
    with pytest.raises(ClientError):
        raising(denied)()

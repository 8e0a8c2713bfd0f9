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


def test_an_aws_error_turned_unavailable_is_logged_with_its_code() -> None:
    """POST /exports answers any AWS error as 503 (nothing started, try again): the log must still
    say which call failed and why, or a permission missing from a role would go unseen."""
    import io
    import logging

    from aistudios_export.aws.errors import aws_errors_unavailable
    from aistudios_export.observability import logger

    @aws_errors_unavailable
    def start() -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "TransactWriteItems")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        with pytest.raises(TransientUpstreamError):
            start()
    finally:
        logger.removeHandler(handler)
    logged = stream.getvalue()
    assert "AWS call failed" in logged
    assert "AccessDeniedException" in logged
    assert "TransactWriteItems" in logged

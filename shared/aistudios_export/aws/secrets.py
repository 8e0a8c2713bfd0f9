"""Secrets Manager, read through Powertools Parameters' cache: one provider per configuration (with
the settings' AWS timeouts), each value kept for a few minutes."""

from __future__ import annotations

import functools
from typing import Any

from ..settings import Settings

SECRET_MAX_AGE_SECONDS = 300


def read_secret(settings: Settings, secret_id: str, *, force_fetch: bool = False) -> Any:
    """The secret's value (str or bytes), from the cache unless `force_fetch`. Powertools raises
    GetParameterError with the AWS error as its context (see aws.errors.error_code)."""
    return _provider(settings).get(secret_id, max_age=SECRET_MAX_AGE_SECONDS, force_fetch=force_fetch)


@functools.cache
def _provider(settings: Settings) -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto_config=settings.aws_config())

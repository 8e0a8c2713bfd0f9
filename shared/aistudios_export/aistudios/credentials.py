"""AI Studios credentials: a Secrets Manager secret {"appId", "userKey"}, or the environment locally."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..aws.errors import error_code
from ..aws.secrets import read_secret
from ..errors import ConfigurationError, PermanentUpstreamError, TransientUpstreamError
from ..settings import Settings

_PERMANENT_SECRET_ERRORS = frozenset(
    {"ResourceNotFoundException", "AccessDeniedException", "InvalidRequestException", "DecryptionFailure"}
)


@dataclass(frozen=True)
class Credentials:
    app_id: str
    user_key: str = field(repr=False)


def load_credentials(settings: Settings, *, force_fetch: bool = False) -> Credentials:
    """Read the credentials, through Powertools Parameters' cache when they come from a secret."""
    if settings.credentials_secret_id:
        from aws_lambda_powertools.utilities import parameters

        try:
            raw: Any = read_secret(settings, settings.credentials_secret_id, force_fetch=force_fetch)
        except parameters.exceptions.GetParameterError as exc:
            # Powertools wraps the AWS error without `from`: it is the context, not the cause.
            cause = exc.__cause__ or exc.__context__
            code = error_code(cause)
            if code in _PERMANENT_SECRET_ERRORS:
                raise PermanentUpstreamError(
                    f"could not read the AI Studios credentials secret: {code}", code="CredentialsUnavailable"
                ) from None
            raise TransientUpstreamError(
                "could not read the AI Studios credentials secret", code="CredentialsUnavailable"
            ) from None
        return _parse_secret(raw)
    if settings.local_app_id and settings.local_user_key:
        return Credentials(settings.local_app_id, settings.local_user_key)
    raise ConfigurationError(
        "no AI Studios credentials: set AISTUDIOS_SECRET_ID, or AISTUDIOS_APP_ID and AISTUDIOS_USER_KEY"
    )


def _parse_secret(raw: Any) -> Credentials:
    try:
        value = json.loads(raw) if isinstance(raw, str | bytes) else raw
        app_id, user_key = value["appId"], value["userKey"]
    except (ValueError, TypeError, KeyError):
        raise PermanentUpstreamError(
            'the credentials secret must be JSON {"appId": "...", "userKey": "..."}',
            code="CredentialsMalformed",
        ) from None
    if not (isinstance(app_id, str) and isinstance(user_key, str) and app_id and user_key):
        raise PermanentUpstreamError(
            "the credentials secret has an empty appId or userKey", code="CredentialsMalformed"
        )
    return Credentials(app_id, user_key)

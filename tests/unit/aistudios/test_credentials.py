"""AI Studios credentials: from a Secrets Manager secret (moto in-process), or from the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from aistudios_export import ConfigurationError, PermanentUpstreamError, Settings
from aistudios_export.aistudios.credentials import Credentials, load_credentials

pytestmark = pytest.mark.unit


@pytest.fixture
def secrets() -> Iterator[Any]:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    with mock_aws():
        yield boto3.client("secretsmanager")
    parameters.clear_caches()


def _settings(secret_id: str) -> Settings:
    return Settings.from_env({"AISTUDIOS_SECRET_ID": secret_id})


def test_credentials_come_from_the_secret_and_are_cached(secrets: Any) -> None:
    arn = secrets.create_secret(Name="creds", SecretString=json.dumps({"appId": "a", "userKey": "k1"}))["ARN"]
    assert load_credentials(_settings(arn)) == Credentials("a", "k1")

    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({"appId": "a", "userKey": "k2"}))
    assert load_credentials(_settings(arn)).user_key == "k1"  # cached for a while
    assert load_credentials(_settings(arn), force_fetch=True).user_key == "k2"  # a rotation is picked up


@pytest.mark.parametrize(
    "value", ["not json", json.dumps({"appId": "a"}), json.dumps({"appId": "", "userKey": "k"}), "[1]"]
)
def test_a_malformed_secret_is_a_permanent_error_that_names_the_shape(secrets: Any, value: str) -> None:
    secrets.create_secret(Name="bad", SecretString=value)
    with pytest.raises(PermanentUpstreamError) as caught:
        load_credentials(_settings("bad"))
    assert caught.value.code == "CredentialsMalformed"
    assert value not in caught.value.message or value == "[1]"


def test_a_missing_secret_is_a_permanent_error(secrets: Any) -> None:
    with pytest.raises(PermanentUpstreamError) as caught:
        load_credentials(_settings("arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"))
    assert caught.value.code == "CredentialsUnavailable"
    assert "ResourceNotFoundException" in caught.value.message


def test_local_credentials_come_from_the_environment() -> None:
    settings = Settings.from_env({"AISTUDIOS_APP_ID": "app", "AISTUDIOS_USER_KEY": "key"})
    assert load_credentials(settings) == Credentials("app", "key")
    assert "key" not in repr(load_credentials(settings))


def test_no_credentials_at_all_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="AISTUDIOS_SECRET_ID"):
        load_credentials(Settings.from_env({}))

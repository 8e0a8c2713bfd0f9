"""The local provisioner against in-process moto: what it makes of template.yaml, and what it
refuses, as CloudFormation would."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.stack.options import DeploymentConfigError, DeploymentOptions
from local.stack.provisioner import Provisioned, provision
from local.stack.template import load_template

pytestmark = pytest.mark.unit
REGION = "us-east-1"
SECRET = "arn:aws:secretsmanager:{region}:123456789012:secret:ai-studios-AbCdEf"


@pytest.fixture
def client() -> Iterator[Callable[[str], Any]]:
    with mock_aws():
        yield lambda service: boto3.client(service, region_name=REGION)


def _provision(client: Callable[[str], Any], secret_region: str) -> Provisioned:
    parameters = {
        "ExistingCredentialsSecretArn": SECRET.format(region=secret_region),
        "ConfigureApiGatewayLogging": "false",
    }
    runtime = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
    return provision(
        load_template(), DeploymentOptions(region=REGION, log_dir=None), parameters, client, runtime
    )


def test_a_credentials_secret_in_another_region_refuses_the_stack(client: Callable[[str], Any]) -> None:
    """The functions could never read it (their region's endpoint, kms:ViaService): the deploy fails
    at the resource named for the reason, before anything is made."""
    with pytest.raises(DeploymentConfigError) as refused:
        _provision(client, "eu-west-1")
    assert (
        "CredentialsSecretMustBeInTheStackRegion (AWS::CloudFormation::WaitCondition) CREATE_FAILED"
        in str(refused.value)
    )
    assert client("s3").list_buckets()["Buckets"] == []
    assert client("lambda").list_functions()["Functions"] == []


def test_a_credentials_secret_in_the_stacks_region_is_taken_and_the_workflow_runs_versions(
    client: Callable[[str], Any],
) -> None:
    provisioned = _provision(client, REGION)
    assert provisioned.outputs["CredentialsSecretArn"] == SECRET.format(region=REGION)
    machine = client("stepfunctions").describe_state_machine(
        stateMachineArn=provisioned.outputs["StateMachineArn"]
    )
    named = {
        state["Parameters"]["FunctionName"]
        for state in json.loads(machine["definition"])["States"].values()
        if state.get("Resource", "").endswith(":lambda:invoke")
    }
    lambda_ = client("lambda")
    assert len(named) == 3
    for arn in named:
        function, version = arn.rsplit(":", 1)
        assert version == "1", arn
        assert (
            lambda_.get_function(FunctionName=function, Qualifier=version)["Configuration"]["Version"] == "1"
        )
        assert lambda_.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == "1"

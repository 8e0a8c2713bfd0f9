"""The template as the scanners see it: each checkov skip with a reason, the fixes they asked for."""

from __future__ import annotations

import re

import pytest

from local.stack.template import load_template, resources_of_type

pytestmark = pytest.mark.unit

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")


def test_every_asynchronously_invoked_function_has_a_dead_letter_queue() -> None:
    asynchronous = {"EventBridgeRule", "Schedule", "ScheduleV2", "S3", "SNS", "CloudWatchEvent"}
    found = 0
    for logical, function in FUNCTIONS.items():
        props = function["Properties"]
        if any(e["Type"] in asynchronous for e in props.get("Events", {}).values()):
            found += 1
            queue = props["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]
            assert RESOURCES[queue]["Type"] == "AWS::SQS::Queue", logical
            for event in props["Events"].values():
                if event["Type"] == "EventBridgeRule":
                    assert event["Properties"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] == queue
    assert found, "the safety net (RecordFailureFunction) is invoked asynchronously"


def test_every_scanner_skip_names_a_check_and_gives_a_reason() -> None:
    skips = 0
    for logical, resource in RESOURCES.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            skips += 1
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (logical, skip)
            assert len(skip["comment"]) >= 40, (logical, skip["id"])
        ids = [s["id"] for s in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])]
        assert len(ids) == len(set(ids)), logical
    assert skips


def test_log_groups_take_the_optional_key() -> None:
    for logical, group in resources_of_type(TEMPLATE, "AWS::Logs::LogGroup").items():
        assert group["Properties"]["KmsKeyId"] == {
            "Fn::If": ["HasLogsKmsKey", {"Ref": "LogsKmsKeyArn"}, {"Ref": "AWS::NoValue"}]
        }, logical

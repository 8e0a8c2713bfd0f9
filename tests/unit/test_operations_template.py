"""Operations as deployed: the alarms, their topic and the dashboard held to the functions and the
metrics the code emits; the scanners' skips each with a reason."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from aistudios_export.observability import METRICS
from local.stack.template import load_template, resources_of_type
from tests.helpers import REPO

pytestmark = pytest.mark.unit

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
ALARMS = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")
ENV = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
NAMESPACE, SERVICE = ENV["POWERTOOLS_METRICS_NAMESPACE"], ENV["POWERTOOLS_SERVICE_NAME"]
BODY_TEXT = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def _dashboard() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(PLACEHOLDER.sub(lambda m: m.group(1), BODY_TEXT))
    return body


def _dashboard_metrics() -> list[list[Any]]:
    return [m for w in _dashboard()["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]


def _alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Each metric an alarm reads, as {Namespace, MetricName, Dimensions}, metric math included."""
    props = alarm["Properties"]
    if "MetricName" in props:
        return [{k: props[k] for k in ("Namespace", "MetricName", "Dimensions")}]
    return [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]


def _emitted_metrics() -> set[str]:
    """The metrics catalogue, and any name the layer or a handler publishes literally."""
    sources = [*(REPO / "shared").rglob("*.py"), *(REPO / "functions").rglob("*.py")]
    names = {n for path in sources for n in re.findall(r'add_metric\(\s*name="(\w+)"', path.read_text())}
    return names | set(METRICS)


def test_every_alarm_notifies_the_operations_topic_and_treats_no_data_as_ok() -> None:
    assert len(ALARMS) >= 9
    for logical, alarm in ALARMS.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "OperationsTopic"}], logical
        assert props["OKActions"] == [{"Ref": "OperationsTopic"}], logical
        assert props["TreatMissingData"] == "notBreaching", logical
        assert props["AlarmDescription"], logical
        # the topic's key lets CloudWatch publish for alarms named after the stack only
        assert props["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), logical


def test_the_operations_topic_is_encrypted_with_a_key_cloudwatch_may_use() -> None:
    topic = RESOURCES["OperationsTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "OperationsTopicKey"}
    key = RESOURCES["OperationsTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    [cloudwatch] = [
        s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(
        ":alarm:${AWS::StackName}-*"
    )
    assert RESOURCES["OperationsEmailSubscription"]["Condition"] == "HasOperationsEmail"
    assert TEMPLATE["Outputs"]["OperationsTopicArn"]["Value"] == {"Ref": "OperationsTopic"}


def test_custom_metrics_are_read_under_the_functions_namespace_and_service() -> None:
    custom = [m for a in ALARMS.values() for m in _alarm_metrics(a) if not m["Namespace"].startswith("AWS/")]
    assert {m["MetricName"] for m in custom} == {"ExportsFailed", "ExportsTimedOut"}
    for metric in custom:
        assert metric["Namespace"] == NAMESPACE
        assert metric["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
    for metric in _dashboard_metrics():
        if not metric[0].startswith("AWS/"):
            assert metric[0] == NAMESPACE
            assert metric[2:4] == ["service", SERVICE], metric


def test_what_the_alarms_read_is_emitted_and_what_is_emitted_is_on_the_dashboard() -> None:
    emitted = _emitted_metrics()
    assert {"ExportsStarted", "DeliveredBytes", "ExportsSucceeded"} <= emitted
    for alarm in ALARMS.values():
        for metric in _alarm_metrics(alarm):
            if metric["Namespace"] == NAMESPACE:
                assert metric["MetricName"] in emitted
    shown = {m[1] for m in _dashboard_metrics() if m[0] == NAMESPACE}
    assert emitted <= shown, f"not on the dashboard: {emitted - shown}"


def test_every_function_is_in_the_error_and_throttle_alarms_and_widgets() -> None:
    for metric, alarm in (("Errors", "FunctionErrorsAlarm"), ("Throttles", "FunctionThrottlesAlarm")):
        read = ALARMS[alarm]["Properties"]["Metrics"]
        stats = [m for m in read if "MetricStat" in m]
        assert {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for m in stats} == set(FUNCTIONS)
        assert {m["MetricStat"]["Metric"]["MetricName"] for m in stats} == {metric}
        [expression] = [m["Expression"] for m in read if "Expression" in m]
        for m in stats:
            assert f"FILL({m['Id']}, 0)" in expression, (alarm, m["Id"])
        shown = {m[3] for m in _dashboard_metrics() if m[:2] == ["AWS/Lambda", metric]}
        assert shown == set(FUNCTIONS), metric


def test_the_dashboard_is_json_naming_only_the_stacks_resources_and_alarms() -> None:
    widgets = _dashboard()["widgets"]
    for name in PLACEHOLDER.findall(BODY_TEXT):
        logical = name.split(".", 1)[0]
        assert logical in RESOURCES or logical.startswith("AWS::"), name
    [alarm_widget] = [w for w in widgets if w["type"] == "alarm"]
    assert {a.removesuffix(".Arn") for a in alarm_widget["properties"]["alarms"]} == set(ALARMS)
    queues = {m[3].split(".")[0] for m in _dashboard_metrics() if m[0] == "AWS/SQS"}
    assert queues == set(resources_of_type(TEMPLATE, "AWS::SQS::Queue"))
    api_dimensions = {tuple(m[2:6]) for m in _dashboard_metrics() if m[0] == "AWS/ApiGateway"}
    stage = RESOURCES["ExportsApi"]["Properties"]["StageName"]
    assert api_dimensions == {("ApiName", "AWS::StackName", "Stage", stage)}


def test_every_asynchronously_invoked_function_has_a_dead_letter_queue_that_is_alarmed() -> None:
    asynchronous = {"EventBridgeRule", "Schedule", "ScheduleV2", "S3", "SNS", "CloudWatchEvent"}
    alarmed = {
        m["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in ALARMS.values()
        for m in _alarm_metrics(a)
        if m["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    found = 0
    for logical, function in FUNCTIONS.items():
        props = function["Properties"]
        if any(e["Type"] in asynchronous for e in props.get("Events", {}).values()):
            found += 1
            queue = props["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]
            assert queue in alarmed, logical
            for event in props["Events"].values():
                if event["Type"] == "EventBridgeRule":
                    assert event["Properties"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] == queue
    assert found, "the safety net (RecordFailureFunction) is invoked asynchronously"
    assert alarmed == {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in resources_of_type(TEMPLATE, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in q.get("Properties", {})
    } | {"SafetyNetDeadLetterQueue"}


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

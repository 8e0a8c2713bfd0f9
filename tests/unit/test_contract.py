"""The ASL and the template agree: substitutions, functions, error names, task hygiene."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import aistudios_export.errors as errors
from local.stack.template import Physical, Resolver, load_template, resources_of_type
from tests.helpers import REPO, policy_statements

pytestmark = pytest.mark.unit

ASL_PATH = REPO / "statemachine" / "export.asl.json"
ASL_TEXT = ASL_PATH.read_text()
ASL = json.loads(ASL_TEXT)
TEMPLATE = load_template()
MACHINE = resources_of_type(TEMPLATE, "AWS::Serverless::StateMachine")["ExportStateMachine"]["Properties"]
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")


def tasks() -> dict[str, dict[str, Any]]:
    """The Lambda tasks (the interruptible wait, a DynamoDB callback task, has its own tests)."""
    return {
        name: state
        for name, state in ASL["States"].items()
        if state["Type"] == "Task" and state["Resource"].endswith(":lambda:invoke")
    }


def test_the_template_wires_this_file() -> None:
    assert MACHINE["DefinitionUri"] == "statemachine/export.asl.json"
    assert MACHINE["Type"] == "STANDARD"
    assert "DefinitionString" not in MACHINE
    assert "Definition" not in MACHINE


def test_every_placeholder_has_a_substitution_and_every_substitution_is_used() -> None:
    placeholders = set(re.findall(r"\$\{(\w+)\}", ASL_TEXT))
    assert placeholders, "the definition should take its function ARNs from the template"
    assert placeholders == set(MACHINE["DefinitionSubstitutions"])


def invoked_function(state: dict[str, Any]) -> str:
    """The logical id of the function a Lambda task invokes: its published version (Ref X.Version),
    so that an execution runs the code it started with whatever is deployed meanwhile."""
    placeholder = re.fullmatch(r"\$\{(\w+)\}", state["Parameters"]["FunctionName"])
    assert placeholder, "a task must name its function through a substitution"
    value = MACHINE["DefinitionSubstitutions"][placeholder.group(1)]
    assert set(value) == {"Ref"}, f"not a published version: {value}"
    assert value["Ref"].endswith(".Version"), f"not a published version: {value}"
    logical = str(value["Ref"]).removesuffix(".Version")
    assert FUNCTIONS[logical]["Properties"]["AutoPublishAlias"], logical
    return logical


def test_every_invoked_function_exists_in_the_template_and_may_be_invoked() -> None:
    invoke_policies = {
        p["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for p in MACHINE["Policies"]
        if "LambdaInvokePolicy" in p
    }
    assert MACHINE["DefinitionSubstitutions"]["Partition"] == {"Ref": "AWS::Partition"}
    for name, state in tasks().items():
        logical = invoked_function(state)
        # SAM's LambdaInvokePolicy grants function:NAME*, which covers the versions too
        assert logical in invoke_policies, f"the state machine role cannot invoke {logical} ({name})"
        assert (REPO / FUNCTIONS[logical]["Properties"]["CodeUri"] / "app.py").is_file()


def test_every_task_has_timeout_retry_with_jitter_and_catch_all() -> None:
    for name, state in tasks().items():
        assert state["Resource"] == "arn:${Partition}:states:::lambda:invoke", name
        logical = invoked_function(state)
        function_timeout = FUNCTIONS[logical]["Properties"].get(
            "Timeout", TEMPLATE["Globals"]["Function"]["Timeout"]
        )
        # the task must outlive its function, or a slow invocation runs twice side by side
        assert function_timeout < state["TimeoutSeconds"] <= function_timeout + 120, name
        assert state["ResultPath"].startswith("$."), name
        assert state["Retry"], name
        for rule in state["Retry"]:
            assert rule["JitterStrategy"] == "FULL", name
            assert rule["MaxDelaySeconds"] > 0, name
            assert rule["MaxAttempts"] >= 1, name
        assert any("Lambda.ServiceException" in r["ErrorEquals"] for r in state["Retry"]), name
        catch = state["Catch"]
        assert catch, name
        assert catch[-1]["ErrorEquals"] == ["States.ALL"], name


def test_work_tasks_retry_the_transient_error_and_fail_into_the_failure_path() -> None:
    for name in ("Check progress", "Deliver video"):
        state = ASL["States"][name]
        assert any("TransientUpstreamError" in r["ErrorEquals"] for r in state["Retry"])
        assert state["Catch"][-1]["Next"] == "Record failure"
        assert state["Catch"][-1]["ResultPath"] == "$.error"


# AWS's list of Lambda's own transient errors, which every Lambda task should retry (Step Functions
# best practices, "Handle Lambda service exceptions").
LAMBDA_TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
}


def test_every_lambda_task_retries_each_of_lambdas_transient_errors() -> None:
    for name, state in tasks().items():
        retried = {n for rule in state["Retry"] for n in rule["ErrorEquals"]}
        assert retried >= LAMBDA_TRANSIENT, (name, sorted(LAMBDA_TRANSIENT - retried))


def _longest_backoff(rule: dict[str, Any]) -> float:
    """The most a retrier can wait in all (FULL jitter waits up to each capped delay)."""
    delays = [
        min(rule["IntervalSeconds"] * rule.get("BackoffRate", 2.0) ** n, rule.get("MaxDelaySeconds", 1e9))
        for n in range(rule["MaxAttempts"])
    ]
    return sum(delays)


def test_a_throttled_delivery_waits_minutes_not_seconds() -> None:
    """New accounts have low concurrency quotas and a delivery holds its function for minutes: renders
    that finish together are throttled, and a Standard workflow can wait for a free slot, well within
    the lease's margin past the deadline (workflow/start.py)."""
    from aistudios_export.workflow.start import LEASE_MARGIN_SECONDS

    [throttle] = [
        r
        for r in ASL["States"]["Deliver video"]["Retry"]
        if "Lambda.TooManyRequestsException" in r["ErrorEquals"]
    ]
    assert throttle["ErrorEquals"] == ["Lambda.TooManyRequestsException"]
    # FULL jitter waits a uniform share of each delay: half of it on average
    assert _longest_backoff(throttle) / 2 >= 10 * 60
    deliver = ASL["States"]["Deliver video"]
    # attempts that may run the whole timeout: the first and the transient retrier's (Lambda's own
    # errors and throttles fail at once); every retrier's waits on top
    [transient] = [r for r in deliver["Retry"] if "Sandbox.Timedout" in r["ErrorEquals"]]
    running = (1 + transient["MaxAttempts"]) * deliver["TimeoutSeconds"]
    assert running + sum(_longest_backoff(r) for r in deliver["Retry"]) <= LEASE_MARGIN_SECONDS


def test_the_poll_failed_timestamp_holds_whatever_the_shape_of_the_entered_time() -> None:
    """`$$.State.EnteredTime` with or without a fraction of a second becomes the same whole-second
    RFC 3339 time (evaluated by the Step Functions interpreter the local stack runs)."""
    from types import SimpleNamespace

    from moto.stepfunctions.parser.asl.parse.intrinsic.intrinsic_parser import IntrinsicParser

    expression = ASL["States"]["Poll failed"]["Parameters"]["checkedAt.$"]
    for entered in ("2026-12-06T22:17:38.123Z", "2026-12-06T22:17:38Z", "2026-12-06T22:17:38.5Z"):
        function, _ = IntrinsicParser.parse(expression)
        context = SimpleNamespace(context_object_data={"State": {"EnteredTime": entered}})
        env = SimpleNamespace(
            stack=[], is_running=lambda: True, states=SimpleNamespace(context_object=context)
        )
        function.eval(env)
        assert env.stack == ["2026-12-06T22:17:38Z"], entered


def test_error_names_in_the_definition_are_real_exception_classes() -> None:
    names = {n for state in tasks().values() for rule in state["Retry"] for n in rule["ErrorEquals"]}
    ours = {n for n in names if not n.startswith(("States.", "Lambda.", "Sandbox."))}
    assert ours
    for name in ours:
        assert issubclass(getattr(errors, name), Exception), name


def test_every_path_ends_in_succeed_or_fail_and_timeout_is_distinct() -> None:
    states = ASL["States"]
    assert {s["Error"] for s in states.values() if s["Type"] == "Fail"} == {"ExportFailed", "ExportTimedOut"}
    for name, state in states.items():
        targets = [state.get("Next"), state.get("Default")]
        targets += [c["Next"] for c in state.get("Choices", [])] + [c["Next"] for c in state.get("Catch", [])]
        for target in filter(None, targets):
            assert target in states, f"{name} -> {target}"
    assert ASL["States"]["Deadline passed"]["Parameters"]["Error"] == "ExportTimedOut"


def test_wait_seconds_come_from_the_poll_result() -> None:
    wait = ASL["States"]["Wait for render"]
    assert wait["SecondsPath"] == "$.poll.nextWaitSeconds"
    assert ASL["States"]["Check progress"]["ResultPath"] == "$.poll"


def test_state_machine_logging_excludes_execution_data() -> None:
    logging = MACHINE["Logging"]
    assert logging["IncludeExecutionData"] is False
    assert MACHINE["Tracing"]["Enabled"] is True


def test_each_function_has_its_own_log_group_with_retention() -> None:
    groups = resources_of_type(TEMPLATE, "AWS::Logs::LogGroup")
    for logical, function in FUNCTIONS.items():
        ref = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[ref]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical


def test_no_function_policy_grants_wildcard_actions_or_resources() -> None:
    for logical, function in FUNCTIONS.items():
        for statement in policy_statements(function["Properties"].get("Policies", [])):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a.endswith(":*") or a == "*" for a in actions), logical
            assert statement["Resource"] != "*", logical


def test_outputs_name_what_users_and_tests_need() -> None:
    assert {
        "ApiUrl",
        "StateMachineArn",
        "VideoBucketName",
        "NotificationTopicArn",
        "ExportsTableName",
    } <= set(TEMPLATE["Outputs"])


def test_poll_wait_rule_admits_exactly_the_ordered_pairs() -> None:
    from local.stack.template import Resolver

    params = TEMPLATE["Parameters"]
    for low in params["PollMinWaitSeconds"]["AllowedValues"]:
        for high in params["PollMaxWaitSeconds"]["AllowedValues"]:
            resolver = Resolver(
                TEMPLATE, {"PollMinWaitSeconds": str(low), "PollMaxWaitSeconds": str(high)}, {}
            )
            if low <= high:
                resolver.check_rules()
            else:
                with pytest.raises(ValueError, match="must not exceed"):
                    resolver.check_rules()


def test_the_longest_export_stays_far_below_the_execution_history_limit() -> None:
    from aistudios_export.workflow.arming import arm_from

    params = TEMPLATE["Parameters"]
    longest = params["ExportDeadlineMinutes"]["MaxValue"] * 60
    shortest_wait = min(params["PollMinWaitSeconds"]["AllowedValues"])
    # one round: Wait entered/exited, Task entered/scheduled/started/succeeded/exited, Choice entered/exited
    assert ASL["States"]["Wait for render"]["Next"] == "Check progress"
    assert ASL["States"]["Check progress"]["Next"] == "Is the render done?"
    # an armed round: the callback Task (entered/scheduled/started/submitted/timed out/exited), or
    # its failure (entered/scheduled/started/failed/exited) and the Wait, then the same poll and Choice
    armed = ASL["States"]["Wait for render or webhook"]
    assert armed["Next"] == "Check progress"
    assert {c["Next"] for c in armed["Catch"]} == {"Check progress", "Wait for render"}
    plain, worst_armed = 9, 5 + 2 + 7
    # armed only when the wait is at least arm_from(its shortest wait) (however often webhooks make
    # the waits armed): never more events a second than the shortest plain rounds the template allows
    for min_wait in params["PollMinWaitSeconds"]["AllowedValues"]:
        assert worst_armed / arm_from(min_wait) <= plain / shortest_wait, min_wait
    rounds = longest / shortest_wait
    early = 2 * worst_armed  # a confirmed completion ends one wait early, or one arming fails at once
    assert rounds * plain + early + 200 < 20_000 < 25_000


def test_a_credentials_secret_must_be_a_secret_arn() -> None:
    from local.stack.template import Resolver

    for good in ("", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:ai/creds-AbCdEf"):
        Resolver(TEMPLATE, {"ExistingCredentialsSecretArn": good}, {}).check_rules()
    for bad in ("my-secret", "arn:aws:s3:::bucket", "arn:aws:secretsmanager:us-east-1:1:secret:x"):
        with pytest.raises(ValueError, match="ExistingCredentialsSecretArn"):
            Resolver(TEMPLATE, {"ExistingCredentialsSecretArn": bad}, {}).check_rules()


@pytest.mark.parametrize(
    ("secret", "refused"),
    [
        ("", False),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:ai/creds-AbCdEf", False),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:ai/creds-AbCdEf", True),
        ("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:ai/creds-AbCdEf", True),
    ],
)
def test_a_credentials_secret_in_another_region_is_refused_at_deploy_time(secret: str, refused: bool) -> None:
    """The pattern admits any region's ARN, but the functions read the secret through their own
    region's endpoint (and kms:ViaService holds only there): a stack in eu-west-1 creates the
    resource that cannot be created, named for the reason, when the secret is elsewhere."""
    from local.stack.template import Resolver

    resolver = Resolver(TEMPLATE, {"ExistingCredentialsSecretArn": secret}, {"AWS::Region": "eu-west-1"})
    resolver.check_rules()
    assert resolver.condition("CredentialsSecretInAnotherRegion") is refused
    for logical in (
        "CredentialsSecretMustBeInTheStackRegion",
        "CredentialsSecretMustBeInTheStackRegionHandle",
    ):
        assert resolver.resource_enabled(logical) is refused
    wait = TEMPLATE["Resources"]["CredentialsSecretMustBeInTheStackRegion"]
    assert wait["Type"] == "AWS::CloudFormation::WaitCondition"
    assert wait["Properties"]["Handle"] == {"Ref": "CredentialsSecretMustBeInTheStackRegionHandle"}


def test_a_fresh_account_gets_the_api_gateway_logging_role_by_default() -> None:
    """The stage writes access logs, which needs the account's CloudWatch role: a fresh account has
    none, so the defaults must create it (a deploy with them must succeed there)."""
    assert TEMPLATE["Resources"]["ExportsApi"]["Properties"]["AccessLogSetting"]
    assert TEMPLATE["Parameters"]["ConfigureApiGatewayLogging"]["Default"] == "true"
    for logical in ("ApiGatewayAccount", "ApiGatewayCloudWatchRole"):
        assert TEMPLATE["Resources"][logical]["Condition"] == "CreateApiGatewayAccount"


def test_post_exports_always_answers_within_api_gateways_29_seconds() -> None:
    from aistudios_export import Settings

    start = FUNCTIONS["StartExportFunction"]["Properties"]
    timeout = start["Timeout"]
    env = {k: str(v) for k, v in start["Environment"]["Variables"].items() if isinstance(v, str | int)}
    settings = Settings.from_env(env)
    worst_call = settings.aws_call_worst_seconds()
    # before the AI Studios call: at most the idempotency record, the record + lease, the execution
    before = 3 * worst_call
    # after it: what submission reserves (two calls and a second of slack)
    after = 2 * worst_call + 1
    assert timeout < 29
    assert worst_call <= 5
    assert before + after <= timeout, "with every AWS call at its worst, the function would time out"
    assert timeout - after >= 15, "a normal start must leave the AI Studios call at least 15 s"


def test_every_aws_client_has_explicit_timeouts_and_standard_retries() -> None:
    from aistudios_export import Adapters, Settings

    adapters = Adapters(Settings.from_env({"AWS_CONNECT_TIMEOUT": "1", "AWS_READ_TIMEOUT": "2"}))
    clients = (adapters.s3, adapters.executions._sfn, adapters.queue._sqs, adapters.notifier._sns)
    for client in clients:
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (1, 2)
        assert config.retries["mode"] == "standard"


def _statements_of(function: str) -> list[dict[str, Any]]:
    return policy_statements(FUNCTIONS[function]["Properties"].get("Policies", []))


def _allows(function: str, action: str) -> list[Any]:
    """The resources `function`'s policy grants `action` on."""
    return [
        s["Resource"]
        for s in _statements_of(function)
        if action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]


def resolved_allows(function: str, action: str, **parameters: str) -> list[Any]:
    """The resources `function`'s policy grants `action` on, for these parameters (the stack's own
    bucket is `stack-bucket`)."""
    return [
        s["Resource"]
        for s in _resolved_statements(function, **parameters)
        if action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]


def test_who_reads_a_key_that_may_be_missing_may_list_the_bucket() -> None:
    """Without s3:ListBucket, S3 answers a HeadObject/GetObject of a missing key with 403, not 404
    (HeadObject API reference): Deliver asks whether its object exists, and the request consumer may
    meet a request file deleted before it is read."""
    for function in ("DeliverExportFunction", "StartRequestedExportsFunction"):
        assert resolved_allows(function, "s3:ListBucket") == ["arn:aws:s3:::stack-bucket"], function
    mine = resolved_allows("DeliverExportFunction", "s3:ListBucket", DestinationBucketName="media")
    assert mine == ["arn:aws:s3:::media"]


def test_a_video_removed_after_a_late_cancel_may_be_deleted_by_deliver() -> None:
    assert resolved_allows("DeliverExportFunction", "s3:DeleteObject") == [
        "arn:aws:s3:::stack-bucket/exports/*"
    ]


KEY_ARN = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DESTINATION = {
    "DestinationBucketName": "media",
    "DestinationKmsKeyArn": KEY_ARN,
    "DestinationKeyTemplate": "campaigns/c-{date}/{name}-{exportId}.mp4",
}


def test_videos_may_be_written_and_read_only_under_the_destinations_prefix_with_its_key() -> None:
    # PutObjectVersionTagging: in a versioned bucket the completion names the version, and the
    # video is tagged by it (S3 API reference, PutObjectTagging)
    writes = (
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
        "s3:DeleteObject",
    )
    for action in writes:
        assert resolved_allows("DeliverExportFunction", action, **DESTINATION) == [
            "arn:aws:s3:::media/campaigns/c-*"
        ]
    for function in ("StartExportFunction", "PollExportFunction", "CancelExportFunction"):
        assert resolved_allows(function, "s3:PutObject", **DESTINATION) == []
    links = resolved_allows("GetExportFunction", "s3:GetObject", **DESTINATION)
    assert links == [["arn:aws:s3:::media/campaigns/c-*", "arn:aws:s3:::stack-bucket/exports/*"]]
    assert resolved_allows("DeliverExportFunction", "kms:GenerateDataKey", **DESTINATION) == [KEY_ARN]
    assert resolved_allows("DeliverExportFunction", "kms:Decrypt", **DESTINATION) == [KEY_ARN]
    assert resolved_allows("GetExportFunction", "kms:Decrypt", **DESTINATION) == [KEY_ARN]
    assert resolved_allows("GetExportFunction", "kms:GenerateDataKey", **DESTINATION) == []
    for function in ("DeliverExportFunction", "GetExportFunction"):
        [grant] = [
            s for s in _resolved_statements(function, **DESTINATION) if "kms:Decrypt" in str(s["Action"])
        ]
        assert grant["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
        # without a key, no KMS grant at all
        assert not [s for s in _resolved_statements(function) if "kms:" in str(s["Action"])]


def _resolved_statements(function: str, **parameters: str) -> list[dict[str, Any]]:
    pseudo = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
    resolver = Resolver(TEMPLATE, parameters, pseudo)
    for logical in TEMPLATE["Resources"]:
        resolver.physical[logical] = Physical(logical, {"Arn": f"arn:{logical}", "Name": logical})
    resolver.physical["VideoBucket"] = Physical("stack-bucket", {"Arn": "arn:aws:s3:::stack-bucket"})
    return policy_statements(resolver.resolve(FUNCTIONS[function]["Properties"].get("Policies", [])))


def test_the_delivering_function_is_told_the_destination() -> None:
    pseudo = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
    environment = FUNCTIONS["DeliverExportFunction"]["Properties"]["Environment"]["Variables"]
    for parameters, expected in [
        ({}, ("stack-bucket", "exports/{projectId}/{exportId}.mp4", "AES256")),
        (
            {"DestinationBucketName": "media"},
            ("media", "exports/{projectId}/{exportId}.mp4", "bucket-default"),
        ),
        (DESTINATION, ("media", DESTINATION["DestinationKeyTemplate"], KEY_ARN)),
    ]:
        resolver = Resolver(TEMPLATE, parameters, pseudo)
        resolver.physical["VideoBucket"] = Physical("stack-bucket", {"Arn": "arn:aws:s3:::stack-bucket"})
        names = ("VIDEO_BUCKET", "KEY_TEMPLATE", "VIDEO_ENCRYPTION")
        assert tuple(resolver.resolve(environment[n]) for n in names) == expected


def test_the_functions_that_judge_a_100_judge_it_alike() -> None:
    """The poll and the webhook receiver both apply the stale-100 rule (aistudios/renders.py): the
    same grace after the request, and the same URL policy for the Last-Modified they ask the CDN.
    A receiver with a shorter grace than the poll's would confirm a previous render's 100, and the
    poll then takes that confirmation as evidence."""
    for function in ("PollExportFunction", "ReceiveWebhookFunction"):
        environment = FUNCTIONS[function]["Properties"]["Environment"]["Variables"]
        assert environment.get("STALE_GRACE_SECONDS") == {"Ref": "StaleProgressGraceSeconds"}, function
        assert environment.get("DOWNLOAD_ALLOWED_HOSTS") == {"Ref": "DownloadAllowedHosts"}, function


def test_the_users_data_outlives_the_stack() -> None:
    for logical in ("VideoBucket", "ExportsTable"):
        resource = TEMPLATE["Resources"][logical]
        assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain")


def test_no_receiver_token_reaches_a_trace_or_the_access_log() -> None:
    api = TEMPLATE["Resources"]["ExportsApi"]["Properties"]
    assert api["TracingEnabled"] is False  # API Gateway's segments record the URL, token included
    log_format = api["AccessLogSetting"]["Format"]
    assert "$context.resourcePath" in log_format
    assert "$context.path" not in log_format


def test_the_layer_ships_the_sdk_the_tests_run() -> None:
    """The runtime's bundled boto3 is of no promised version; the layer pins the locked one."""
    import tomllib

    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"]}
    shipped = dict(
        line.split("==")
        for line in (REPO / "shared" / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    for package in ("boto3", "botocore", "s3transfer"):
        assert shipped.get(package) == locked[package], package


def test_hand_entered_credentials_outlive_a_switch_to_an_existing_secret() -> None:
    secret = TEMPLATE["Resources"]["CredentialsSecret"]
    assert secret["Condition"] == "CreateCredentialsSecret"
    assert (secret.get("DeletionPolicy"), secret.get("UpdateReplacePolicy")) == ("Retain", "Retain")

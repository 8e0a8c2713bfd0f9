"""What runs: Lambda functions (supervised worker processes) and Step Functions state machines."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from ..execution_events import Rule
from ..functions import FunctionSpec
from ..queue_sources import QueueSource
from ..schedules import Schedule
from ..template import REPO, Physical, function_globals, resources_of_type
from .base import Context, ResourceType, slug


class Function(ResourceType):
    """Registered with moto's Lambda (so Step Functions can invoke it) and recorded for the supervisor.

    With AutoPublishAlias it also gets what SAM generates for it: a published version (the first,
    `1`, as in a new stack) and the alias pointing at it, for `Ref X.Version` and `Ref X.Alias`.
    A qualified ARN is invoked through moto's Lambda like the function (the same workers)."""

    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        name = f"{ctx.stack}-{slug(logical)}"
        arn = ctx.arn("lambda", f"function:{name}")
        alias = resource.get("Properties", {}).get("AutoPublishAlias")
        refs = {"Version": f"{arn}:1", "Alias": f"{arn}:{alias}"} if alias else {}
        return Physical(name, {"Arn": arn}, refs)

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        globals_ = function_globals(ctx.template)
        props = resource["Properties"]
        name = ctx.resolver.physical[logical].ref
        env = {
            **_variables(ctx, globals_),
            **_variables(ctx, props),
            # Finer than the template's parameters allow, so local exports finish in seconds.
            "EXPORT_DEADLINE_SECONDS": str(ctx.options.export_deadline_seconds),
            "POLL_MIN_WAIT_SECONDS": str(ctx.options.poll_min_wait_seconds),
            "POLL_MAX_WAIT_SECONDS": str(ctx.options.poll_max_wait_seconds),
            "STALE_GRACE_SECONDS": str(ctx.options.stale_grace_seconds),
            "REQUEST_RETRY_BASE_SECONDS": str(ctx.options.request_retry_base_seconds),
            "RECONCILE_MARGIN_SECONDS": str(ctx.options.reconcile_margin_seconds),
            **ctx.options.function_env,
        }
        spec = FunctionSpec(
            logical_id=logical,
            name=name,
            code_dir=REPO / props["CodeUri"],
            handler=props.get("Handler", globals_.get("Handler", "app.lambda_handler")),
            environment=env,
            timeout=float(props.get("Timeout", globals_.get("Timeout", 3))),
            memory=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
            layer_paths=_layer_paths(ctx.template),
            runtime_env=ctx.runtime_env,
            credentials=ctx.credentials.get(logical, {}),
        )
        ctx.client("lambda").create_function(
            FunctionName=name,
            Runtime=globals_.get("Runtime", "python3.13"),
            Role=ctx.role_for(logical),
            Handler=spec.handler,
            Code={"ZipFile": _zip_dir(spec.code_dir)},
            Timeout=int(spec.timeout),
            MemorySize=spec.memory,
            Environment={"Variables": env},
        )
        ctx.functions[logical] = spec
        self._events(ctx, name, props)
        alias = props.get("AutoPublishAlias")
        if not alias:
            return None
        lambda_ = ctx.client("lambda")
        version = lambda_.publish_version(FunctionName=name)["Version"]
        lambda_.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)
        planned = ctx.resolver.physical[logical]
        arn = planned.attrs["Arn"]
        return Physical(
            planned.ref, planned.attrs, {"Version": f"{arn}:{version}", "Alias": f"{arn}:{alias}"}
        )

    @staticmethod
    def _events(ctx: Context, name: str, props: dict[str, Any]) -> None:
        for event_name, event in props.get("Events", {}).items():
            if event.get("Type") == "SQS":
                ctx.queue_sources.append(_queue_source(ctx, name, ctx.resolver.resolve(event["Properties"])))
            if event.get("Type") == "EventBridgeRule":
                pattern = ctx.resolver.resolve(event["Properties"]["Pattern"])
                retries = event["Properties"].get("RetryPolicy", {}).get("MaximumRetryAttempts", 3)
                rule = _rule(ctx, f"{name}-{slug(event_name)}", EventPattern=json.dumps(pattern))
                ctx.event_rules.append(Rule(pattern, name, min(int(retries), 3), rule))
            if event.get("Type") == "Schedule":
                expression = ctx.resolver.resolve(event["Properties"]["Schedule"])
                rule = _rule(ctx, f"{name}-{slug(event_name)}", ScheduleExpression=expression)
                ctx.schedules.append(Schedule(name, expression, rule))


class StateMachine(ResourceType):
    """The definition file with its DefinitionSubstitutions applied, run by moto's executor."""

    def plan(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical:
        name = f"{ctx.stack}-{slug(logical)}"
        arn = ctx.arn("states", f"stateMachine:{name}")
        return Physical(arn, {"Name": name, "Arn": arn})

    def create(self, ctx: Context, logical: str, resource: dict[str, Any]) -> Physical | None:
        props = resource["Properties"]
        definition = (REPO / props["DefinitionUri"]).read_text()
        for key, value in ctx.resolver.resolve(props.get("DefinitionSubstitutions", {})).items():
            definition = definition.replace("${" + key + "}", str(value))
        planned = ctx.resolver.physical[logical]
        arn = ctx.client("stepfunctions").create_state_machine(
            name=planned.attrs["Name"],
            definition=definition,
            roleArn=ctx.role_for(logical),
            type=props.get("Type", "STANDARD"),
        )["stateMachineArn"]
        return Physical(arn, planned.attrs)


def _rule(ctx: Context, name: str, **spec: str) -> str:
    """The event's rule in moto's EventBridge (on the default bus, as SAM makes it), enabled: the
    local stack delivers its events while it stays so (`aws events disable-rule` stops them)."""
    ctx.client("events").put_rule(Name=name, State="ENABLED", **spec)
    return name


def _queue_source(ctx: Context, function: str, props: dict[str, Any]) -> QueueSource:
    """An SQS event's queue, by the ARN the template names (queues are created before functions)."""
    url = next(p.ref for p in ctx.resolver.physical.values() if p.attrs.get("Arn") == props["Queue"])
    return QueueSource(
        queue_url=url,
        queue_arn=props["Queue"],
        function=function,
        batch_size=int(props.get("BatchSize", 10)),
        max_concurrency=int(props.get("ScalingConfig", {}).get("MaximumConcurrency", 2)),
        report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
    )


def _variables(ctx: Context, props: dict[str, Any]) -> dict[str, str]:
    variables = ctx.resolver.resolve(props.get("Environment", {}).get("Variables", {}))
    return {k: str(v) for k, v in variables.items()}


def _layer_paths(template: dict[str, Any]) -> tuple[Path, ...]:
    layers = resources_of_type(template, "AWS::Serverless::LayerVersion").values()
    return tuple(REPO / layer["Properties"]["ContentUri"] for layer in layers)


def _zip_dir(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(path.rglob("*.py")):
            archive.write(file, file.relative_to(path))
    return buffer.getvalue()

"""Starts the whole system on this machine from template.yaml: simulator, moto, functions, API."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
import requests

from .api import LocalApi, Route
from .lambdas import FunctionPool, FunctionSpec, LambdaRouter
from .template import (
    REPO,
    Physical,
    Resolver,
    api_routes,
    function_globals,
    load_template,
    resources_of_type,
)

ACCOUNT = "123456789012"
LOCAL_DIR = REPO / ".local"
ENDPOINTS_FILE = LOCAL_DIR / "endpoints.json"
# What the local stack adds to each function's own environment: fake AWS credentials, the moto
# endpoint, and permission to fetch plain-http loopback URLs (the simulator is not https).
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass
class StackOptions:
    """Knobs of the local stack. Defaults make the demo finish in seconds."""

    stack_name: str = "aistudios-export-local"
    region: str = "us-east-1"
    aistudios_url: str | None = None
    aistudios_app_id: str = ""
    aistudios_user_key: str = field(default="", repr=False)
    render_seconds: float = 6.0
    video_size: int | None = None
    poll_min_wait_seconds: int = 1
    poll_max_wait_seconds: int = 3
    export_deadline_seconds: float = 120.0
    parameters: dict[str, str] = field(default_factory=dict)
    function_env: dict[str, str] = field(default_factory=dict)
    moto_port: int = 0
    api_port: int = 0
    log_dir: Path | None = LOCAL_DIR / "logs"
    write_endpoints: bool = True

    @classmethod
    def from_env(cls, **overrides: Any) -> StackOptions:
        """Honours AISTUDIOS_URL (+ AISTUDIOS_APP_ID / AISTUDIOS_USER_KEY) to drive another endpoint."""
        options = cls(**overrides)
        url = os.environ.get("AISTUDIOS_URL", "").strip()
        if url:
            options.aistudios_url = url.rstrip("/")
            options.aistudios_app_id = os.environ.get("AISTUDIOS_APP_ID", "")
            options.aistudios_user_key = os.environ.get("AISTUDIOS_USER_KEY", "")
            if not (options.aistudios_app_id and options.aistudios_user_key):
                raise SystemExit(
                    "AISTUDIOS_URL needs AISTUDIOS_APP_ID and AISTUDIOS_USER_KEY in the environment"
                )
        return options


class LocalStack:
    """The embedded default. Use as a context manager or call start() / stop()."""

    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.template = load_template()
        self.simulator: Any = None
        self.router = LambdaRouter()
        self.api: LocalApi | None = None
        self._moto: Any = None
        self._logs: list[IO[str]] = []
        self.endpoints: dict[str, Any] = {}
        self.function_names: dict[str, str] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        try:
            self._start_simulator()
            self._start_moto()
            resolver = self._resolver()
            self._create_resources(resolver)
            self._start_functions(resolver)
            self._start_api()
            self._write_endpoints()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()
            self.api = None
        self.router.stop()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None
        for log in self._logs:
            log.close()
        self._logs.clear()

    # -- pieces ---------------------------------------------------------------------------------

    @property
    def aws_endpoint_url(self) -> str:
        return str(self.endpoints["aws_endpoint_url"])

    def client(self, service: str) -> Any:
        """A boto3 client pointed at the local AWS endpoint."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.aws_endpoint_url,
            region_name=self.options.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        )

    def _start_simulator(self) -> None:
        opts = self.options
        if opts.aistudios_url:
            self.endpoints["aistudios_url"] = opts.aistudios_url
            return
        from local.simulator import Simulator, SimulatorConfig

        config = SimulatorConfig(render_seconds=opts.render_seconds, video_size=opts.video_size)
        self.simulator = Simulator(config).start()
        opts.aistudios_app_id, opts.aistudios_user_key = config.app_id, config.user_key
        self.endpoints["aistudios_url"] = self.simulator.base_url

    def _start_moto(self) -> None:
        from moto.core.config import default_user_config
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        default_user_config["stepfunctions"]["execute_state_machine"] = True
        # Keep moto's regular Lambda backend: its Docker step is replaced by LambdaRouter below.
        default_user_config["lambda"]["use_docker"] = True
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        for name, value in _AWS_ENV.items():
            os.environ.setdefault(name, value)
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.options.moto_port, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        # moto's backends live in this process: start every stack from a clean slate.
        requests.post(f"http://{host}:{port}/moto-api/reset", timeout=10).raise_for_status()
        # moto's Step Functions executor calls Lambda back through the server on this port.
        os.environ["MOTO_PORT"] = str(port)
        self.router.install_into_moto()
        self.endpoints["aws_endpoint_url"] = f"http://{host}:{port}"
        self.endpoints["region"] = self.options.region

    def _resolver(self) -> Resolver:
        opts = self.options
        parameters = {
            "AIStudiosBaseUrl": self.endpoints["aistudios_url"],
            "ExistingCredentialsSecretArn": "",
            "PollMinWaitSeconds": str(opts.poll_min_wait_seconds),
            "PollMaxWaitSeconds": str(opts.poll_max_wait_seconds),
            "ConfigureApiGatewayLogging": "false",
            # The simulator serves videos from its own loopback host and nowhere else.
            **({"DownloadAllowedHosts": "127.0.0.1"} if self.simulator is not None else {}),
            **opts.parameters,
        }
        pseudo = {
            "AWS::Region": opts.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": opts.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        resolver = Resolver(self.template, parameters, pseudo)
        resolver.physical = self._plan_physical(resolver)
        return resolver

    def _plan_physical(self, resolver: Resolver) -> dict[str, Physical]:
        """Names and ARNs of every resource, known before anything is created (as CloudFormation does)."""
        opts, region = self.options, self.options.region
        stack = opts.stack_name
        physical: dict[str, Physical] = {}
        suffix = secrets.token_hex(4)
        for logical, resource in self.template["Resources"].items():
            kind = resource["Type"]
            slug = _slug(logical)
            if kind == "AWS::S3::Bucket":
                name = f"{stack}-{slug}-{suffix}"
                physical[logical] = Physical(name, {"Arn": f"arn:aws:s3:::{name}"})
            elif kind == "AWS::DynamoDB::Table":
                name = f"{stack}-{slug}"
                physical[logical] = Physical(
                    name, {"Arn": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"}
                )
            elif kind == "AWS::SNS::Topic":
                name = f"{stack}-{slug}"
                physical[logical] = Physical(f"arn:aws:sns:{region}:{ACCOUNT}:{name}", {"TopicName": name})
            elif kind == "AWS::SecretsManager::Secret":
                physical[logical] = Physical(f"{stack}/{slug}", {})
            elif kind == "AWS::Serverless::Function":
                name = f"{stack}-{slug}"
                physical[logical] = Physical(
                    name, {"Arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"}
                )
            elif kind == "AWS::Serverless::StateMachine":
                name = f"{stack}-{slug}"
                arn = f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{name}"
                physical[logical] = Physical(arn, {"Name": name, "Arn": arn})
            elif kind == "AWS::Logs::LogGroup":
                name = resolver.resolve(resource["Properties"].get("LogGroupName", f"/{stack}/{slug}"))
                physical[logical] = Physical(
                    name, {"Arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}:*"}
                )
            elif kind == "AWS::Serverless::LayerVersion":
                physical[logical] = Physical(f"arn:aws:lambda:{region}:{ACCOUNT}:layer:{stack}-{slug}:1", {})
            elif kind == "AWS::Serverless::Api":
                physical[logical] = Physical("local", {"RootResourceId": "root"})
        return physical

    def _create_resources(self, resolver: Resolver) -> None:
        t = self.template
        self._create_buckets(resolver)
        for logical, resource in resources_of_type(t, "AWS::DynamoDB::Table").items():
            self._create_table(resolver, logical, resource["Properties"])
        sns = self.client("sns")
        for logical, resource in resources_of_type(t, "AWS::SNS::Topic").items():
            props = resolver.resolve(resource["Properties"])
            attributes = {"DisplayName": props.get("DisplayName", logical)}
            if props.get("KmsMasterKeyId"):
                attributes["KmsMasterKeyId"] = props["KmsMasterKeyId"]
            topic_arn = sns.create_topic(
                Name=resolver.physical[logical].attrs["TopicName"], Attributes=attributes
            )["TopicArn"]
            resolver.physical[logical] = Physical(topic_arn, resolver.physical[logical].attrs)
        secrets_client = self.client("secretsmanager")
        for logical in resources_of_type(t, "AWS::SecretsManager::Secret"):
            if resolver.resource_enabled(logical):
                value = json.dumps(
                    {"appId": self.options.aistudios_app_id, "userKey": self.options.aistudios_user_key}
                )
                arn = secrets_client.create_secret(Name=resolver.physical[logical].ref, SecretString=value)[
                    "ARN"
                ]
                resolver.physical[logical] = Physical(arn, {})
        # Local only: a queue subscribed to the topic, so notifications can be seen.
        sqs = self.client("sqs")
        queue_url = sqs.create_queue(QueueName=f"{self.options.stack_name}-notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        topic_arn = resolver.resolve(self.template["Outputs"]["NotificationTopicArn"]["Value"])
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.endpoints["queue_url"] = queue_url
        iam = self.client("iam")
        role_arn = iam.create_role(
            RoleName=f"{self.options.stack_name}-role",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        self._role_arn = role_arn

    def _create_buckets(self, resolver: Resolver) -> None:
        s3 = self.client("s3")
        for logical, resource in resources_of_type(self.template, "AWS::S3::Bucket").items():
            name = resolver.physical[logical].ref
            props = resolver.resolve(resource.get("Properties", {}))
            s3.create_bucket(Bucket=name)
            for rule in props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", []):
                default = rule["ServerSideEncryptionByDefault"]
                s3.put_bucket_encryption(
                    Bucket=name,
                    ServerSideEncryptionConfiguration={
                        "Rules": [
                            {
                                "ApplyServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": default["SSEAlgorithm"]
                                },
                                "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
                            }
                        ]
                    },
                )
            block = props.get("PublicAccessBlockConfiguration")
            if block:
                s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
            rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
            if rules:
                s3.put_bucket_lifecycle_configuration(
                    Bucket=name,
                    LifecycleConfiguration={
                        "Rules": [
                            {
                                "ID": rule["Id"],
                                "Status": rule["Status"],
                                "Filter": {"Prefix": ""},
                                "AbortIncompleteMultipartUpload": rule["AbortIncompleteMultipartUpload"],
                            }
                            for rule in rules
                        ]
                    },
                )

    def _create_table(self, resolver: Resolver, logical: str, props: dict[str, Any]) -> None:
        props = resolver.resolve(props)
        args: dict[str, Any] = {
            "TableName": resolver.physical[logical].ref,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("SSESpecification", {}).get("SSEEnabled"):
            args["SSESpecification"] = {"Enabled": True}
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(**args)
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(
                TableName=args["TableName"],
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=args["TableName"],
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )

    def _start_functions(self, resolver: Resolver) -> None:
        t = self.template
        globals_ = function_globals(t)
        global_env = resolver.resolve(globals_.get("Environment", {}).get("Variables", {}))
        layer_paths = tuple(
            REPO / resolver.template["Resources"][name]["Properties"]["ContentUri"]
            for name in resources_of_type(t, "AWS::Serverless::LayerVersion")
        )
        lambda_client = self.client("lambda")
        if self.options.log_dir is not None:
            self.options.log_dir.mkdir(parents=True, exist_ok=True)
        runtime_env = {
            **_AWS_ENV,
            "AWS_REGION": self.options.region,
            "AWS_DEFAULT_REGION": self.options.region,
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "ALLOW_INSECURE_URLS": "true",
        }
        for logical, resource in resources_of_type(t, "AWS::Serverless::Function").items():
            props = resource["Properties"]
            name = resolver.physical[logical].ref
            env = {
                **{k: str(v) for k, v in global_env.items()},
                **{
                    k: str(v)
                    for k, v in resolver.resolve(props.get("Environment", {}).get("Variables", {})).items()
                },
            }
            env["EXPORT_DEADLINE_SECONDS"] = str(self.options.export_deadline_seconds)
            env.update(self.options.function_env)
            spec = FunctionSpec(
                logical_id=logical,
                name=name,
                code_dir=REPO / props["CodeUri"],
                handler=props.get("Handler", globals_.get("Handler", "app.lambda_handler")),
                environment=env,
                timeout=float(props.get("Timeout", globals_.get("Timeout", 3))),
                memory=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
                layer_paths=layer_paths,
                runtime_env=runtime_env,
            )
            lambda_client.create_function(
                FunctionName=name,
                Runtime=globals_.get("Runtime", "python3.13"),
                Role=self._role_arn,
                Handler=spec.handler,
                Code={"ZipFile": _zip_dir(spec.code_dir)},
                Timeout=int(spec.timeout),
                MemorySize=spec.memory,
                Environment={"Variables": env},
            )
            log: IO[str] | None = None
            if self.options.log_dir is not None:
                log = (self.options.log_dir / f"{name}.log").open("a")
                self._logs.append(log)
            self.router.add(FunctionPool(spec, log))
            self.function_names[logical] = name
        sfn = self.client("stepfunctions")
        for logical, resource in resources_of_type(t, "AWS::Serverless::StateMachine").items():
            props = resource["Properties"]
            definition = (REPO / props["DefinitionUri"]).read_text()
            for key, value in resolver.resolve(props.get("DefinitionSubstitutions", {})).items():
                definition = definition.replace("${" + key + "}", str(value))
            arn = sfn.create_state_machine(
                name=resolver.physical[logical].attrs["Name"],
                definition=definition,
                roleArn=self._role_arn,
                type=props.get("Type", "STANDARD"),
            )["stateMachineArn"]
            resolver.physical[logical] = Physical(arn, resolver.physical[logical].attrs)
        self._read_outputs(resolver)

    def _read_outputs(self, resolver: Resolver) -> None:
        """The same names the deployed stack's Outputs give, from the template's Outputs section."""
        outputs = {
            name: resolver.resolve(spec["Value"]) for name, spec in self.template.get("Outputs", {}).items()
        }
        self.endpoints.update(
            {
                "bucket": outputs["VideoBucketName"],
                "topic_arn": outputs["NotificationTopicArn"],
                "state_machine_arn": outputs["StateMachineArn"],
                "table": outputs["ExportsTableName"],
            }
        )

    def _start_api(self) -> None:
        routes = [
            Route(method, path, self.function_names[logical])
            for method, path, logical in api_routes(self.template)
        ]
        self.api = LocalApi(routes, self.router.invoke, port=self.options.api_port).start()
        self.endpoints["api_url"] = self.api.url

    def warm(self) -> None:
        """Start one worker per function now, so the first request does not pay the cold start."""
        for pool in self.router.pools.values():
            pool.warm()

    def _write_endpoints(self) -> None:
        if not self.options.write_endpoints:
            return
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        ENDPOINTS_FILE.write_text(json.dumps(self.endpoints, indent=2) + "\n")


def _slug(logical: str) -> str:
    out = []
    for i, ch in enumerate(logical):
        if ch.isupper() and i and not logical[i - 1].isupper():
            out.append("-")
        out.append(ch.lower())
    return "".join(out)


def _zip_dir(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(path.rglob("*.py")):
            archive.write(file, file.relative_to(path))
    return buffer.getvalue()

"""Runs the whole system on this machine from template.yaml: simulator, moto, functions, API."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3

from .accounts import destination_bucket, destination_key, existing_credentials_secret, role_client
from .api_gateway import GatewayResponses, LocalApiGateway, Route
from .execution_events import ExecutionEvents
from .functions import FunctionSpec, FunctionSupervisor
from .iam import CallRecord, IamGate, Principals
from .moto_server import FAKE_CREDENTIALS, MotoServer
from .options import LOCAL_DIR, DeploymentOptions
from .provisioner import provision
from .queue_sources import QueuePollers
from .resources import ACCOUNT
from .schedules import Schedules
from .template import api_routes, gateway_responses, load_template

if TYPE_CHECKING:
    from local.simulator import Simulator

ENDPOINTS_FILE = LOCAL_DIR / "endpoints.json"


class LocalDeployment:
    """The embedded default. Use as a context manager or call start() / stop()."""

    def __init__(self, options: DeploymentOptions | None = None) -> None:
        self.options = options or DeploymentOptions()
        self.template = load_template()
        self.simulator: Simulator | None = None
        self.supervisor = FunctionSupervisor(self.options.log_dir)
        self.api_gateway: LocalApiGateway | None = None
        self.execution_events: ExecutionEvents | None = None
        self.queue_pollers: QueuePollers | None = None
        self.schedules: Schedules | None = None
        # every function's and the state machine's calls, held to their roles and recorded
        self.iam = IamGate(
            Principals(), CallRecord(self.options.log_dir), mode=self.options.iam, region=self.options.region
        )
        self._moto = MotoServer(self.supervisor, self.iam, port=self.options.moto_port)
        self.endpoints: dict[str, Any] = {}

    def __enter__(self) -> LocalDeployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalDeployment:
        try:
            self._start_simulator()
            self.endpoints["aws_endpoint_url"] = self._moto.start()
            self.endpoints["region"] = self.options.region
            provisioned = provision(
                self.template, self.options, self._parameters(), self.client, self._function_runtime_env()
            )
            outputs = provisioned.outputs
            for principal in provisioned.principals:
                self.iam.principals.add(principal)
            self._subscribe_notification_queue(outputs["NotificationTopicArn"])
            self._capture_lifecycle_events(outputs["EventBusName"])
            self.endpoints.update(
                {
                    "bucket": outputs["VideoBucketName"],
                    "topic_arn": outputs["NotificationTopicArn"],
                    "state_machine_arn": outputs["StateMachineArn"],
                    "table": outputs["ExportsTableName"],
                    "event_bus": outputs["EventBusName"],
                    "requests_prefix": outputs["RequestsPrefix"],
                    "request_queue_url": outputs["RequestQueueUrl"],
                    "dead_letter_queue_url": outputs["RequestDeadLetterQueueUrl"],
                    "video_bucket": outputs["DestinationBucket"],
                }
            )
            for spec in provisioned.functions.values():
                self.supervisor.add(spec)
            self.execution_events = ExecutionEvents(
                self.client("stepfunctions"),
                [provisioned.outputs["StateMachineArn"]],
                provisioned.event_rules,
                self.supervisor.invoke,
                account=ACCOUNT,
                region=self.options.region,
                events=self.client("events"),
            ).start()
            self.schedules = Schedules(
                self.client("events"),
                provisioned.schedules,
                self.supervisor.invoke,
                account=ACCOUNT,
                region=self.options.region,
                period=self.options.schedule_seconds,
            ).start()
            self.queue_pollers = QueuePollers(
                self.client("sqs"),
                provisioned.queue_sources,
                self.supervisor.invoke,
                region=self.options.region,
                clients={
                    spec.name: role_client(
                        "sqs", self.aws_endpoint_url, self.options.region, spec.credentials
                    )
                    for spec in provisioned.functions.values()
                    if spec.credentials and any(s.function == spec.name for s in provisioned.queue_sources)
                },
            ).start()
            self._start_api_gateway(provisioned.functions)
            self._write_endpoints()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stop_executions()
        if self.queue_pollers is not None:
            self.queue_pollers.stop()
            self.queue_pollers = None
        if self.schedules is not None:
            self.schedules.stop()
            self.schedules = None
        if self.execution_events is not None:
            self.execution_events.stop()
            self.execution_events = None
        if self.api_gateway is not None:
            self.api_gateway.stop()
            self.api_gateway = None
        self.supervisor.stop()
        self._moto.stop()
        self.iam.principals.clear()
        self.iam.record.close()
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None
        self._remove_endpoints()

    def _stop_executions(self) -> None:
        """Executions still running end with the stack: moto runs each in a thread of this process,
        which would otherwise go on invoking functions (and logging) after the stack is gone."""
        try:
            sfn = self.client("stepfunctions")
            for machine in sfn.list_state_machines()["stateMachines"]:
                running = sfn.list_executions(
                    stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
                )
                for execution in running["executions"]:
                    sfn.stop_execution(
                        executionArn=execution["executionArn"], cause="the local stack stopped"
                    )
        except Exception:  # noqa: BLE001 - a stack that never started has nothing to stop
            return

    def warm(self) -> None:
        """Start one worker per function now, so the first request does not pay the cold start."""
        self.supervisor.warm()

    @property
    def aws_endpoint_url(self) -> str:
        return str(self.endpoints["aws_endpoint_url"])

    def client(self, service: str) -> Any:
        """A boto3 client pointed at the local AWS endpoint."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.aws_endpoint_url,
            region_name=self.options.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def _start_simulator(self) -> None:
        opts = self.options
        if opts.aistudios_url:
            self.endpoints["aistudios_url"] = opts.aistudios_url
            return
        from local.simulator import Simulator, SimulatorConfig

        config = SimulatorConfig(
            render_seconds=opts.render_seconds,
            video_size=opts.video_size,
            download_bytes_per_second=opts.download_bytes_per_second,
            distinct_videos=opts.distinct_videos,
        )
        self.simulator = Simulator(config).start()
        opts.aistudios_app_id, opts.aistudios_user_key = config.app_id, config.user_key
        self.endpoints["aistudios_url"] = self.simulator.base_url

    def _parameters(self) -> dict[str, str]:
        """The template's parameter overrides, as `sam deploy --parameter-overrides` would pass them."""
        opts = self.options
        existing = ""
        if opts.existing_credentials_secret:
            existing = existing_credentials_secret(
                self.client, opts.stack_name, opts.aistudios_app_id, opts.aistudios_user_key
            )
        return {
            "ExistingCredentialsSecretArn": existing,
            **self._destination(),
            "ConfigureApiGatewayLogging": "false",
            # The simulator serves videos from its own loopback host and nowhere else.
            **({"DownloadAllowedHosts": "127.0.0.1"} if self.simulator is not None else {}),
            **opts.parameters,
        }

    def _destination(self) -> dict[str, str]:
        """DestinationBucketName, DestinationKmsKeyArn and DestinationKeyTemplate, the bucket and
        key made first if the local AWS has not got them (as they would exist in an account)."""
        opts, parameters = self.options, {}
        key_arn = destination_key(self.client, opts.destination_kms_key) if opts.destination_kms_key else ""
        if opts.destination_bucket:
            destination_bucket(self.client, opts.destination_bucket, key_arn)
            parameters["DestinationBucketName"] = opts.destination_bucket
        if key_arn:
            parameters["DestinationKmsKeyArn"] = key_arn
        if opts.key_template:
            parameters["DestinationKeyTemplate"] = opts.key_template
        return parameters

    def _function_runtime_env(self) -> dict[str, str]:
        """What the deployment adds to each function's own environment: moto's fake credentials and
        endpoint, and the AI Studios endpoint, whose origin alone may be fetched over plain http (the
        simulator is not https, which the template's AIStudiosBaseUrl pattern rightly refuses); any
        other local address is refused exactly as it would be on AWS."""
        return {
            "AISTUDIOS_BASE_URL": self.endpoints["aistudios_url"],
            **FAKE_CREDENTIALS,
            "AWS_REGION": self.options.region,
            "AWS_DEFAULT_REGION": self.options.region,
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "LOCAL_HTTP_ORIGIN": self.endpoints["aistudios_url"],
        }

    def _subscribe_notification_queue(self, topic_arn: str) -> None:
        """Local only: a queue subscribed to the topic, so notifications can be seen."""
        sqs = self.client("sqs")
        queue_url = sqs.create_queue(QueueName=f"{self.options.stack_name}-notifications")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=attributes["QueueArn"])
        self.endpoints["queue_url"] = queue_url

    def _capture_lifecycle_events(self, bus: str) -> None:
        """Local only: a queue receiving every event the stack puts on its bus, so they can be seen."""
        sqs, events = self.client("sqs"), self.client("events")
        queue_url = sqs.create_queue(QueueName=f"{self.options.stack_name}-lifecycle-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        rule = f"{self.options.stack_name}-lifecycle-capture"
        events.put_rule(
            Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["aistudios.export"]})
        )
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn}])
        self.endpoints["events_queue_url"] = queue_url

    def _start_api_gateway(self, functions: dict[str, FunctionSpec]) -> None:
        routes = [
            Route(method, path, functions[logical].name)
            for method, path, logical in api_routes(self.template)
        ]
        self.api_gateway = LocalApiGateway(
            routes,
            self.supervisor.invoke,
            port=self.options.api_port,
            gateway_responses=GatewayResponses(gateway_responses(self.template)),
        ).start()
        self.endpoints["api_url"] = self.api_gateway.url
        # The template names the API's AWS URL; locally it is this gateway's, known only now (before
        # any worker starts, so every function sees it).
        for spec in functions.values():
            if "WEBHOOK_RECEIVER_URL" in spec.environment:
                spec.environment["WEBHOOK_RECEIVER_URL"] = self.api_gateway.url + "/webhooks"

    def _write_endpoints(self) -> None:
        if not self.options.write_endpoints:
            return
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        ENDPOINTS_FILE.write_text(self._endpoints_text())

    def _remove_endpoints(self) -> None:
        """A stopped stack's endpoints are gone: the CLI must not find them and call dead ports
        (unless another stack has written its own since)."""
        if not self.options.write_endpoints:
            return
        try:
            if ENDPOINTS_FILE.read_text() == self._endpoints_text():
                ENDPOINTS_FILE.unlink()
        except FileNotFoundError:
            pass

    def _endpoints_text(self) -> str:
        return json.dumps(self.endpoints, indent=2) + "\n"

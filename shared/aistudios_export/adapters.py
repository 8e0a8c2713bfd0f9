"""The outside world the domain talks to, built lazily once per process from settings: typed
adapters (the AI Studios client, the store, the executions, the bucket, the delivery, the request
queue and files, the notifier and lifecycle events), each the one home of its service's calls.

Tests and the local stack pass their own clients by keyword; anything not passed is built on first
use, and so is imported then: a function that never talks to AI Studios never imports requests."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from .settings import Settings

if TYPE_CHECKING:
    import requests

    from .aistudios.client import AIStudiosClient
    from .aws.executions import Executions
    from .aws.queue import RequestQueue
    from .aws.request_bucket import RequestFiles
    from .delivery.bucket import VideoBucket
    from .delivery.engine import VideoDelivery
    from .publishing.lifecycle import LifecycleEvents
    from .publishing.notifications import Notifier
    from .store.exports import ExportStore


class Adapters:
    def __init__(
        self,
        settings: Settings,
        *,
        aistudios: AIStudiosClient | None = None,
        http: requests.Session | None = None,
        table: Any = None,
        s3: Any = None,
        sfn: Any = None,
        sns: Any = None,
        events: Any = None,
        sqs: Any = None,
    ) -> None:
        self.settings = settings
        if settings.bucket_name:  # the functions that write or link videos: their layout, checked now
            from .delivery.keys import checked_layout

            self.key_template, self.encryption = checked_layout(
                settings.key_template, settings.video_encryption
            )
        self._aistudios = aistudios
        self._http = http
        self._table = table
        self._s3 = s3
        self._sfn = sfn
        self._sns = sns
        self._events = events
        self._sqs = sqs

    @cached_property
    def _config(self) -> Any:
        return self.settings.aws_config()

    def _boto(self, service: str) -> Any:
        return boto3.client(service, config=self._config)  # type: ignore[call-overload]

    @cached_property
    def http(self) -> requests.Session:
        from .aistudios.transport import build_session

        return self._http or build_session()

    @cached_property
    def aistudios(self) -> AIStudiosClient:
        if self._aistudios is not None:
            return self._aistudios
        from .aistudios.client import AIStudiosClient
        from .aistudios.credentials import load_credentials

        settings = self.settings
        return AIStudiosClient(
            settings.aistudios_base_url,
            lambda force: load_credentials(settings, force_fetch=force),
            session=self.http,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            call_budget_seconds=settings.call_budget_seconds,
        )

    @cached_property
    def store(self) -> ExportStore:
        from .store.exports import ExportStore

        table = self._table or boto3.resource("dynamodb", config=self._config).Table(self.settings.table_name)
        return ExportStore(table)

    @cached_property
    def s3(self) -> Any:
        """The raw client, for the adapters below (and tests); domain code uses `bucket`, `delivery`
        or `request_files`."""
        # SigV4 presigned links: boto3 presigns with SigV2 in us-east-1 by default, which buckets
        # created since June 2020 refuse.
        config = self._config.merge(Config(signature_version="s3v4"))
        return self._s3 or boto3.client("s3", config=config)

    @cached_property
    def executions(self) -> Executions:
        from .aws.executions import Executions

        return Executions(self._sfn or self._boto("stepfunctions"), self.settings.state_machine_arn)

    @cached_property
    def bucket(self) -> VideoBucket:
        from .delivery.bucket import VideoBucket

        s = self.settings
        return VideoBucket(
            self.s3,
            s.bucket_name,
            key_template=self.key_template,
            encryption=self.encryption,
            local_origin=s.local_http_origin or None,
            allowed_hosts=s.download_allowed_hosts,
        )

    @cached_property
    def request_files(self) -> RequestFiles:
        from .aws.request_bucket import RequestFiles

        return RequestFiles(self.s3, self.settings.bucket_name)

    @cached_property
    def notifier(self) -> Notifier:
        from .publishing.notifications import Notifier

        return Notifier(self._sns or self._boto("sns"), self.settings.topic_arn)

    @cached_property
    def lifecycle(self) -> LifecycleEvents:
        from .publishing.lifecycle import LifecycleEvents

        events = (self._events or self._boto("events")) if self.settings.event_bus_name else None
        return LifecycleEvents(events, self.settings.event_bus_name)

    @cached_property
    def queue(self) -> RequestQueue:
        from .aws.queue import RequestQueue

        return RequestQueue(self._sqs or self._boto("sqs"), self.settings.request_queue_url)

    @cached_property
    def delivery(self) -> VideoDelivery:
        from .delivery.engine import VideoDelivery

        s = self.settings
        return VideoDelivery(
            self.s3,
            part_size=s.part_size_bytes,
            workers=s.delivery_workers,
            timeout=(s.connect_timeout, max(s.read_timeout, 30.0)),
            local_origin=s.local_http_origin or None,
            allowed_hosts=s.download_allowed_hosts,
            memory=s.function_memory_bytes,
            max_bytes=s.max_video_bytes,
            encryption=self.encryption.arguments(),
        )

"""The bucket the videos land in, as the workflow and the API use it: where an export's video goes,
its tags, its thumbnail, its clean-up when an export is cancelled at the last moment, and signed
links to it. The copy itself is the delivery engine's (engine.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import PermanentUpstreamError
from ..models import ExportRecord, VideoLocation
from .keys import DEFAULT_TEMPLATE, SSE_S3, Encryption, KeyTemplate


class VideoBucket:
    def __init__(
        self,
        s3: Any,
        name: str,
        *,
        key_template: KeyTemplate = DEFAULT_TEMPLATE,
        encryption: Encryption = SSE_S3,
        local_origin: str | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self._s3 = s3
        self.name = name
        self._key_template = key_template
        self.encryption = encryption
        self._local_origin = local_origin
        self._allowed_hosts = tuple(allowed_hosts)

    def key_for(self, record: ExportRecord) -> str:
        """The export's video key, from the key template (the same for every attempt)."""
        return self._key_template.render(
            project_id=record.project_id,
            export_id=record.export_id,
            resolution=record.resolution,
            requested_at=record.created_at,
            name=record.name,
        )

    def tag(self, key: str, version_id: str | None, *, sha256: str, export_id: str) -> None:
        self._s3.put_object_tagging(
            Bucket=self.name,
            Key=key,
            **({"VersionId": version_id} if version_id else {}),
            Tagging={
                "TagSet": [{"Key": "sha256", "Value": sha256}, {"Key": "export-id", "Value": export_id}]
            },
        )

    def copy_thumbnail(self, url: str, video_key: str, metadata: dict[str, str] | None = None) -> str | None:
        """The project's thumbnail next to the video, with the video's metadata and encryption
        (optional: None when there is none)."""
        from .thumbnails import copy_thumbnail  # requests: imported by the one step that fetches

        return copy_thumbnail(
            self._s3,
            url,
            bucket=self.name,
            key_stem=video_key.removesuffix(".mp4"),
            encryption=self.encryption.arguments(),
            metadata=metadata or {},
            local_origin=self._local_origin,
            allowed_hosts=self._allowed_hosts,
        )

    def discard(self, *keys: str) -> None:
        """Remove a video delivered for an export that was cancelled meanwhile, and its thumbnail.
        DeleteObjects answers 200 even when a key could not be deleted (AccessDenied, say): those
        per-key errors are raised, never ignored, so a multi-GB video is not left behind in silence."""
        response = self._s3.delete_objects(
            Bucket=self.name, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
        )
        errors = response.get("Errors") or []
        if errors:
            failed = ", ".join(f"{e.get('Key')} ({e.get('Code')})" for e in errors)
            raise PermanentUpstreamError(f"could not remove {failed}", code="CleanupFailed")

    def presign(self, video: VideoLocation, seconds: int) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": video.bucket, "Key": video.key}, ExpiresIn=seconds
        )
        return url

"""Completing an unknown upload is S3's 404 NoSuchUpload.

Completing an upload that was aborted (or already completed, or never existed) is NoSuchUpload on S3;
moto answers 500 (a KeyError, or a ValueError when another request removes the upload meanwhile),
which a caller would take for a transient error and retry.

The patch answers NoSuchUpload whenever moto's completion fails and the upload is no longer there;
any other failure is moto's own."""

from __future__ import annotations

from typing import Any


def apply() -> None:
    from moto.s3 import models
    from moto.s3.exceptions import NoSuchUpload

    if getattr(models.S3Backend, "_local_stack_no_such_upload", False):
        return
    complete = models.S3Backend.complete_multipart_upload

    def complete_known(self: Any, bucket_name: str, multipart_id: str, body: Any) -> Any:
        try:
            return complete(self, bucket_name, multipart_id, body)
        except (KeyError, ValueError):  # unknown, or aborted (or completed) by another request meanwhile
            if multipart_id in self.get_bucket(bucket_name).multiparts:
                raise
            raise NoSuchUpload(upload_id=multipart_id) from None

    models.S3Backend.complete_multipart_upload = complete_known  # type: ignore[method-assign]
    models.S3Backend._local_stack_no_such_upload = True  # type: ignore[attr-defined]

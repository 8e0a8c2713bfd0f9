"""ListParts lists each part's checksums as S3 does.

moto lists number, date, ETag and size only, so a client resuming an upload from its listed parts
(our delivery) cannot combine their checksums into the full-object one, and completes without it
locally where on AWS it sends it.

The patch lists with each `Part` the checksums it was uploaded with and that were verified
(s3_checksum_verification.py: `<ChecksumCRC32C>` etc., after `<Size>`), and in the result the
upload's `ChecksumAlgorithm` and `ChecksumType` (after `StorageClass`) when it was created with an
algorithm, its type being the one the completion uses (S3's default: FULL_OBJECT for CRC64NVME, else
COMPOSITE). moto serializes its result with botocore's ListParts shape, which orders them."""

from __future__ import annotations

import base64
from typing import Any

from .checksums import default_checksum_type


def apply() -> None:
    from moto.s3 import responses

    if getattr(responses.S3Response, "_local_stack_lists_checksums", False):
        return
    list_parts = responses.S3Response.list_parts

    def listed_with_checksums(self: Any) -> Any:
        serialized = self.serialized

        def with_checksums(action_result: Any) -> Any:
            result = action_result.result
            upload = self.backend.get_bucket(self.bucket_name).multiparts.get(self._get_param("uploadId"))
            if isinstance(result, dict) and upload is not None:
                for listed in result.get("Parts", []):
                    part = upload.parts.get(int(listed["PartNumber"]))
                    for algorithm, digest in getattr(part, "local_stack_checksums", {}).items():
                        listed[f"Checksum{algorithm}"] = base64.b64encode(digest).decode()
                if algorithm := upload.metadata.get("x-amz-checksum-algorithm"):
                    result["ChecksumAlgorithm"] = algorithm
                    declared = upload.metadata.get("x-amz-checksum-type")
                    result["ChecksumType"] = declared or default_checksum_type(algorithm)
            return serialized(action_result)

        self.serialized = with_checksums  # this request's response only
        try:
            return list_parts(self)
        finally:
            del self.serialized

    responses.S3Response.list_parts = listed_with_checksums  # type: ignore[method-assign]
    responses.S3Response._local_stack_lists_checksums = True  # type: ignore[attr-defined]

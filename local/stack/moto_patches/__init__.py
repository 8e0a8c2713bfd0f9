"""What the local stack changes in moto, one module per behaviour, each saying what moto does wrong
and what the patch changes:

- s3_streamed_completion: CompleteMultipartUpload streams the parts into the object (one copy);
- s3_checksum_verification: the checksums clients send are verified, as S3 does (BadDigest etc.);
- s3_list_parts_checksums: ListParts lists the parts' checksums and the upload's checksum type;
- s3_no_such_upload: completing an unknown (aborted, completed) upload is 404 NoSuchUpload;
- dynamodb_atomic_writes: each DynamoDB write, transactions included, is atomic;
- stepfunctions_stop_aborts_waits: StopExecution also aborts a `.waitForTaskToken` wait at once;
- lambda_to_supervisor: Lambda invocations run in the function supervisor's workers.

They patch moto's private internals, so applying them first checks that the installed moto is one
they were tested with (version.py) and raises UntestedMotoVersionError otherwise. Applying them is
idempotent (the Lambda one is replaced by each deployment's supervisor); they are process-wide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import (
    dynamodb_atomic_writes,
    lambda_to_supervisor,
    s3_checksum_verification,
    s3_list_parts_checksums,
    s3_no_such_upload,
    s3_streamed_completion,
    stepfunctions_stop_aborts_waits,
)
from .version import TESTED_RANGE, UntestedMotoVersionError, check_installed_moto, check_moto_version

if TYPE_CHECKING:
    from ..functions import FunctionSupervisor

__all__ = [
    "TESTED_RANGE",
    "UntestedMotoVersionError",
    "check_moto_version",
    "s3_patches",
    "stack_patches",
]


def s3_patches() -> None:
    """What the local stack changes in moto's S3 (also applied by `python -m local.stack.s3_server`,
    the same S3 on its own, which the delivery benchmark uses, and by the tests' conftest)."""
    check_installed_moto()
    s3_streamed_completion.apply()
    s3_checksum_verification.apply()
    s3_list_parts_checksums.apply()
    s3_no_such_upload.apply()


def stack_patches(supervisor: FunctionSupervisor) -> None:
    """Every patch, the local stack's moto server running its Lambda functions in `supervisor`."""
    check_installed_moto()
    lambda_to_supervisor.apply(supervisor)
    stepfunctions_stop_aborts_waits.apply()
    dynamodb_atomic_writes.apply()
    s3_patches()

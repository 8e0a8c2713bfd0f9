"""What the local stack changes in moto, one module per behaviour, each saying what moto does wrong
and what the patch changes:

- s3_streamed_completion: CompleteMultipartUpload streams the parts into the object (one copy);
- s3_checksum_verification: the checksums clients send are verified, as S3 does (BadDigest etc.);
- s3_list_parts_checksums: ListParts lists the parts' checksums and the upload's checksum type;
- s3_no_such_upload: completing an unknown (aborted, completed) upload is 404 NoSuchUpload;
- dynamodb_atomic_writes: each DynamoDB write, transactions included, is atomic;
- dynamodb_transaction_tokens: a TransactWriteItems repeated with its ClientRequestToken is
  answered, not applied again;
- stepfunctions_stop_aborts_waits: StopExecution also aborts a `.waitForTaskToken` wait at once;
- lambda_to_supervisor: Lambda invocations run in the function supervisor's workers;
- stepfunctions_role_credentials: a state machine's tasks call AWS with its role's credentials.

They patch moto's private internals, so applying them first checks that the installed moto is one
they were tested with (version.py) and raises UntestedMotoVersionError otherwise. Applying them is
idempotent (the Lambda and role ones are replaced by each deployment's); they are process-wide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import (
    dynamodb_atomic_writes,
    dynamodb_transaction_tokens,
    lambda_to_supervisor,
    s3_checksum_verification,
    s3_list_parts_checksums,
    s3_no_such_upload,
    s3_streamed_completion,
    stepfunctions_role_credentials,
    stepfunctions_stop_aborts_waits,
)
from .version import TESTED_RANGE, UntestedMotoVersionError, check_installed_moto, check_moto_version

if TYPE_CHECKING:
    from ..functions import FunctionSupervisor
    from ..iam.principals import Principals

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


def stack_patches(supervisor: FunctionSupervisor, principals: Principals | None = None) -> None:
    """Every patch, the local stack's moto server running its Lambda functions in `supervisor`
    (and its state machines' tasks with their roles' credentials, from `principals`)."""
    check_installed_moto()
    lambda_to_supervisor.apply(supervisor)
    if principals is not None:
        stepfunctions_role_credentials.apply(principals)
    stepfunctions_stop_aborts_waits.apply()
    dynamodb_atomic_writes.apply()
    dynamodb_transaction_tokens.apply()
    s3_patches()

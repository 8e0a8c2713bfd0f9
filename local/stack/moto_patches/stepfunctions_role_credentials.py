"""The state machine's tasks run with the state machine's role, as on AWS.

moto's executor makes a task's service calls (a `lambda:invoke`, an `aws-sdk:dynamodb:updateItem`)
through boto3 clients it builds in this process (`asl/utils/boto_client.boto_client_for`), signed with
fixed dummy keys whatever the role: every task would be allowed.

The patch signs them with the credentials of the principal whose role is the execution's (the task's
`Credentials` role if it names one), so the local IAM middleware authorises them like any other
call of that role; a role the local stack does not know keeps moto's dummy keys (the account's own).
Like the Lambda patch it is applied again by each deployment, which brings its own principals."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..iam.principals import Principals

_MODULE = "moto.stepfunctions.parser.asl.utils.boto_client"


def apply(principals: Principals) -> None:
    import importlib

    import boto3

    module: Any = importlib.import_module(_MODULE)
    original = getattr(module, "_local_stack_original", None) or module.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        role_arn = getattr(state_credentials, "role_arn", None)
        principal = principals.by_role_arn(role_arn) if role_arn else None
        if principal is None:
            return original(region, service, state_credentials)
        from botocore.config import Config
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port
        from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

        endpoint = (
            {} if botocore_stubber.enabled else {"endpoint_url": f"http://localhost:{moto_server_port()}"}
        )
        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=region,
            aws_access_key_id=principal.access_key_id,
            aws_secret_access_key=principal.secret_access_key,
            aws_session_token=principal.session_token,
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            ),
            **endpoint,
        )

    module._local_stack_original = original
    module.boto_client_for = boto_client_for
    # the executor's modules imported it by name: each gets the patched one
    for name, loaded in list(sys.modules.items()):
        imported = getattr(loaded, "boto_client_for", None) is not None
        if name.startswith("moto.stepfunctions.parser") and imported and loaded is not module:
            loaded.boto_client_for = boto_client_for  # type: ignore[attr-defined]

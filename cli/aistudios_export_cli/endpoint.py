"""Which API the CLI talks to: `--api-url`, the `ApiUrl` output of `--stack-name`, or the local stack
found from `.local/endpoints.json`; and whether its requests are signed (never on loopback: the local
API does not check signatures, and local use then needs no AWS credentials at all)."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from .exits import CliError, Exit
from .signing import SigV4, region_of

if TYPE_CHECKING:
    import boto3

ENDPOINTS_FILE = Path(".local") / "endpoints.json"
NO_CREDENTIALS = (
    "no AWS credentials found (environment, ~/.aws config and credentials, SSO, an instance or task role)"
)


@dataclass(frozen=True)
class Endpoint:
    url: str  # the API's base URL, without a trailing slash
    source: str  # where the URL came from, named when the API cannot be reached
    auth: requests.auth.AuthBase | None


def resolve(
    api_url: str | None, stack_name: str | None, region: str | None, profile: str | None, cwd: Path
) -> Endpoint:
    if api_url and stack_name:
        raise CliError("give --api-url or --stack-name, not both", Exit.USAGE)
    if not api_url and not stack_name:
        path, url = local_api_url(cwd)
        return Endpoint(_checked(url, str(path)), str(path), None)
    session = None
    if api_url:
        url, source = _checked(api_url, "--api-url"), f"--api-url {api_url}"
    else:
        assert stack_name is not None
        session = _session(region, profile)
        url = _checked(stack_api_url(session, stack_name), f"the ApiUrl output of stack {stack_name}")
        source = f"stack {stack_name}"
    host = urlsplit(url).hostname or ""
    if is_loopback(host):  # boto3 is not even imported: local use needs no AWS configuration
        return Endpoint(url, source, None)
    return Endpoint(url, source, _signer(session or _session(region, profile), host))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_api_url(cwd: Path) -> tuple[Path, str]:
    """The local stack's API, from the nearest .local/endpoints.json in cwd or above (`make up` writes it)."""
    for directory in (cwd, *cwd.parents):
        path = directory / ENDPOINTS_FILE
        if path.is_file():
            try:
                data: Any = json.loads(path.read_text())
                return path, str(data["api_url"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CliError(f"{path} names no api_url ({exc!r})", Exit.USAGE) from None
    raise CliError(
        "no API to talk to: pass --api-url or --stack-name, or start the local stack with `make up` "
        f"(it writes {ENDPOINTS_FILE}) and run this in the repository",
        Exit.USAGE,
    )


def stack_api_url(session: boto3.Session, stack_name: str) -> str:
    """The `ApiUrl` output of a deployed stack (CloudFormation DescribeStacks)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except NoRegionError:
        raise CliError("no AWS region: pass --region or set AWS_REGION", Exit.USAGE) from None
    except NoCredentialsError:
        raise CliError(NO_CREDENTIALS, Exit.API) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        message = error.get("Message", str(exc))
        if "does not exist" in message:
            raise CliError(
                f"stack {stack_name} not found in {session.region_name}", Exit.NOT_FOUND, code="StackNotFound"
            ) from None
        raise CliError(f"CloudFormation: {message}", Exit.API, code=error.get("Code")) from None
    except BotoCoreError as exc:
        raise CliError(f"CloudFormation: {exc}", Exit.API) from None
    for output in stacks[0].get("Outputs", []) if stacks else []:
        if output.get("OutputKey") == "ApiUrl" and output.get("OutputValue"):
            return str(output["OutputValue"])
    raise CliError(f"stack {stack_name} has no ApiUrl output", Exit.NOT_FOUND, code="NoApiUrl")


def _checked(url: str, source: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"{source}: {url!r} is not an http(s) URL", Exit.USAGE)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        # A signed request in clear text could be replayed by anyone on the way for five minutes.
        raise CliError(f"{source}: {url!r} must be https (plain http only to this machine)", Exit.USAGE)
    return url.strip().rstrip("/")


def _session(region: str | None, profile: str | None) -> boto3.Session:
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(region_name=region, profile_name=profile)
    except ProfileNotFound:
        raise CliError(f"AWS profile {profile!r} not found", Exit.USAGE) from None


def _signer(session: boto3.Session, host: str) -> SigV4:
    credentials = session.get_credentials()
    if credentials is None:
        raise CliError(f"{NO_CREDENTIALS}: the API takes SigV4-signed requests only", Exit.API)
    region = region_of(host) or session.region_name
    if not region:
        raise CliError(
            f"no AWS region to sign requests to {host}: pass --region or set AWS_REGION", Exit.USAGE
        )
    return SigV4(credentials, region)

"""The API's OpenAPI document, generated from the code: `make openapi` (python -m docgen.openapi).

Routes are gathered from template.yaml: every function with an Api event on ExportsApi is loaded
(its handler module, with the environment the template gives it; a value only a deployment knows
becomes a placeholder) and its Powertools resolver, the module's `app`, describes its own routes:
parameters from the route's declarations, summary and answers from api_docs.py. Powertools'
OpenAPIMerge joins them, refusing a route described twice. A new API function (say POST
/webhooks/{token}) is picked up by adding its Api event to template.yaml, exposing its resolver as
`app`, and running `make openapi` again; tests/unit/test_openapi.py fails until then.

Then: the schemas the routes name (api_schema.COMPONENTS) are added; Powertools' 422 answer is
dropped (the API answers 400 ValidationError, documented per route; a route's own 422 stays);
every operation gets the answers API Gateway gives itself, in the same shape (template.yaml's
GatewayResponses): those it can give on that route by status, any other as `default`; and the
servers and the SigV4 security of the deployed API are described."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local.stack.template import REPO, load_template, resources_of_type

DOCUMENT = REPO / "docs" / "openapi.json"
API = "ExportsApi"
PLACEHOLDER = "openapi-generator"
TITLE = "AI Studios Export API"
DESCRIPTION = (
    "Copies DeepBrain AI Studios video exports into your own AWS account. Every error, from every "
    'route and from API Gateway itself, is {"error": {"code", "message", "field"?}}. Requests are '
    "signed with SigV4 (IAM authorization, execute-api:Invoke)."
)
GATEWAY_ERRORS = "Any other error API Gateway answers itself: `code` is its response type"
# What API Gateway answers itself, before or instead of the function (`code`: its response type).
GATEWAY_ANSWERS = {
    429: "`THROTTLED` (API Gateway): over the stage's rate limit (template.yaml MethodSettings); retry later",
    502: "API Gateway: the function failed, or its answer was not a proxy result",
    504: "`INTEGRATION_TIMEOUT` (API Gateway): the function did not answer within 29 s",
}
SIGNED_ANSWER = (
    "API Gateway: `MISSING_AUTHENTICATION_TOKEN`, the request is not signed (or its method and path "
    "are not a route of the API's); `INVALID_SIGNATURE` or `EXPIRED_TOKEN`, its signature is wrong "
    "or stale; `ACCESS_DENIED`, the principal may not execute-api:Invoke it"
)
BODY_ANSWER = "`REQUEST_TOO_LARGE` (API Gateway): a body over 10 MB"
POWERTOOLS_VALIDATION = "#/components/schemas/HTTPValidationError"
SERVERS = [
    {
        "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/v1",
        "description": "the deployed stack (output ApiUrl); the local stack serves this document at "
        "/openapi.json with its own URL",
        "variables": {"restApiId": {"default": "restApiId"}, "region": {"default": "us-east-1"}},
    }
]
SECURITY_SCHEMES = {
    "sigv4": {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "AWS Signature Version 4, by a principal allowed execute-api:Invoke",
        "x-amazon-apigateway-authtype": "awsSigv4",
    }
}


def api_routes(template: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(METHOD, path, function logical id, signed?) for every route ExportsApi declares; a route
    whose event sets `Auth: {Authorizer: NONE}` takes unsigned requests."""
    routes = []
    for logical, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            props = event.get("Properties", {})
            if event.get("Type") == "Api" and props.get("RestApiId") == {"Ref": API}:
                signed = props.get("Auth", {}).get("Authorizer") != "NONE"
                routes.append((props["Method"].upper(), props["Path"], logical, signed))
    return routes


def route_shape(path: str) -> str:
    """A path with its parameters unnamed: Powertools names them after the handler's arguments."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def route_mismatches(document: dict[str, Any], template: dict[str, Any]) -> set[str]:
    """Routes ExportsApi declares that the document lacks, and routes it documents that ExportsApi
    does not declare (compared with their parameters unnamed)."""
    declared = {(method, route_shape(path)) for method, path, _, _ in api_routes(template)}
    documented = {
        (method.upper(), route_shape(path)) for path, item in document["paths"].items() for method in item
    }
    return {f"{m} {p} is not documented" for m, p in declared - documented} | {
        f"{m} {p} is documented but not in template.yaml" for m, p in documented - declared
    }


def build() -> dict[str, Any]:
    """The document, as a dict."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    template = load_template()
    merge = OpenAPIMerge(title=TITLE, version=_version(), description=DESCRIPTION, on_conflict="error")
    routes = api_routes(template)
    for logical in sorted({route[2] for route in routes}):
        with _function_environment(template, logical):
            app = _load_handler(template, logical).app
        merge.add_schema(app.get_openapi_schema())
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    unsigned = {(method, route_shape(path)) for method, path, _, signed in routes if not signed}
    return _finish(document, unsigned)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _finish(document: dict[str, Any], unsigned: set[tuple[str, str]]) -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    from aistudios_export.api.schema import COMPONENTS

    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _, extra = models_json_schema(
        [(model, "validation") for model in COMPONENTS], ref_template="#/components/schemas/{model}"
    )
    schemas.update(extra["$defs"])
    for path, path_item in document["paths"].items():
        for method, operation in path_item.items():
            responses = operation["responses"]
            if _powertools_validation(responses.get("422", {})):
                del responses["422"]  # Powertools' own validation answer; ours is 400
            signed = (method.upper(), route_shape(path)) not in unsigned
            gateway = dict(GATEWAY_ANSWERS)
            if signed:
                gateway[403] = SIGNED_ANSWER
            if "requestBody" in operation:
                gateway[413] = BODY_ANSWER
            for status, text in gateway.items():
                known = responses.get(str(status))
                description = f"{known['description']}; or {text}" if known else text
                responses[str(status)] = {"description": description, "content": _ERROR_CONTENT}
            responses["default"] = {"description": GATEWAY_ERRORS, "content": _ERROR_CONTENT}
            operation["responses"] = dict(sorted(responses.items()))
            if not signed:
                operation["security"] = []  # open to unsigned callers (see template.yaml)
    used = _referenced(document["paths"], schemas)  # Powertools adds its validation errors' schemas
    document["components"]["schemas"] = {name: schemas[name] for name in sorted(used)}
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    document["security"] = [{"sigv4": []}]
    document["servers"] = SERVERS
    document["paths"] = {path: dict(sorted(item.items())) for path, item in sorted(document["paths"].items())}
    return document


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


def _powertools_validation(answer: dict[str, Any]) -> bool:
    """Whether a 422 is the one Powertools adds to a validated route (HTTPValidationError)."""
    return POWERTOOLS_VALIDATION in json.dumps(answer)


def _referenced(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """The component schemas the paths refer to, directly or through other schemas."""
    prefix = "#/components/schemas/"
    found: set[str] = set()
    pending = [paths]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] not in found:
                found.add(ref[len(prefix) :])
                pending.append(schemas.get(ref[len(prefix) :], {}))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _version() -> str:
    with (REPO / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


@contextmanager
def _function_environment(template: dict[str, Any], logical: str) -> Iterator[None]:
    """The environment template.yaml gives the function, for the time its module is imported."""
    parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    variables = {
        **template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        **template["Resources"][logical]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    values = {}
    for name, value in variables.items():
        if isinstance(value, str | int | float):
            values[name] = str(value)
        elif isinstance(value, dict) and parameters.get(value.get("Ref", "")):
            values[name] = parameters[value["Ref"]]
        else:  # a resource's name or ARN: there is no deployment here
            values[name] = PLACEHOLDER
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _load_handler(template: dict[str, Any], logical: str) -> Any:
    properties = template["Resources"][logical]["Properties"]
    module_file, _ = properties.get("Handler", "app.lambda_handler").rsplit(".", 1)
    path = REPO / properties["CodeUri"] / f"{module_file}.py"
    name = f"openapi_{logical}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json is out of date")
    parser.add_argument("--output", type=Path, default=DOCUMENT)
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        if not args.output.exists() or args.output.read_text() != text:
            print(f"{args.output} is out of date: run 'make openapi'", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

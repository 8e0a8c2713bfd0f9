"""docs/openapi.json: generated from the API functions' resolvers, valid, and the routes of ExportsApi."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
from openapi_spec_validator import validate

from aistudios_export.api.routes import LIST_PARAMETERS
from docgen import openapi
from local.stack.template import load_template
from tests.api_contract import DOCUMENT
from tests.helpers import REPO

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def generated() -> dict[str, object]:
    return openapi.build()


def test_the_checked_in_document_is_what_the_code_generates(generated: dict[str, object]) -> None:
    assert DOCUMENT.read_text() == openapi.render(generated), "docs/openapi.json is stale: run 'make openapi'"


def test_the_document_is_valid_openapi() -> None:
    validate(json.loads(DOCUMENT.read_text()))


def test_the_document_has_exactly_the_routes_template_yaml_gives_exports_api() -> None:
    document = json.loads(DOCUMENT.read_text())
    assert openapi.route_mismatches(document, load_template()) == set()
    assert {("GET", "/exports"), ("POST", "/exports"), ("DELETE", "/exports/{}")} <= {
        (method.upper(), openapi.route_shape(path))
        for path, item in document["paths"].items()
        for method in item
    }


def test_a_route_added_to_the_template_without_its_documentation_is_noticed() -> None:
    document = json.loads(DOCUMENT.read_text())
    template = copy.deepcopy(load_template())
    events = template["Resources"]["GetExportFunction"]["Properties"]["Events"]
    events["Later"] = {
        "Type": "Api",
        "Properties": {"RestApiId": {"Ref": "ExportsApi"}, "Path": "/later", "Method": "GET"},
    }
    assert openapi.route_mismatches(document, template) == {"GET /later is not documented"}
    del document["paths"]["/exports"]["get"]
    assert "GET /exports is not documented" in openapi.route_mismatches(document, template)


def test_the_listing_refuses_exactly_the_parameters_it_does_not_document() -> None:
    parameters = json.loads(DOCUMENT.read_text())["paths"]["/exports"]["get"]["parameters"]
    assert [p["name"] for p in parameters if p["in"] == "query"] == list(LIST_PARAMETERS)


def test_every_export_route_documents_its_errors_in_the_one_shape() -> None:
    document = json.loads(DOCUMENT.read_text())
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, item in document["paths"].items():
        if not path.startswith("/exports"):
            continue
        for method, operation in item.items():
            statuses = {s for s in operation["responses"] if s[0] in "45" or s == "default"}
            assert {"500", "default"} <= statuses, (method, path)
            for status in statuses:  # Powertools' own 422 (HTTPValidationError) is dropped: ours is 400
                assert operation["responses"][status]["content"]["application/json"]["schema"] == error


def test_every_answer_a_route_declares_is_in_the_document() -> None:
    """Powertools' own 422 is dropped, a route's own stays: the generator dropped every 422, and
    POST /exports' IdempotencyKeyReused and AI Studios' refusals were undocumented (schemathesis)."""
    from aistudios_export.api import retry, routes

    operations = {
        operation["operationId"]: operation
        for item in json.loads(DOCUMENT.read_text())["paths"].values()
        for operation in item.values()
    }
    declared = [*vars(routes).values(), retry.RETRY_EXPORT]
    declarations = [d for d in declared if isinstance(d, dict) and "operation_id" in d]
    assert {d["operation_id"] for d in declarations} == set(operations)
    for declaration in declarations:
        documented = set(operations[declaration["operation_id"]]["responses"])
        assert {str(status) for status in declaration["responses"]} <= documented, declaration["operation_id"]
    assert "422" in operations["createExport"]["responses"]


def test_every_route_declares_what_api_gateway_answers_on_it() -> None:
    """Throttling, a failed or late function on every route; an unsigned or denied request on the
    signed ones; a body too large where there is a body. Anything else it answers is `default`."""
    for path, item in json.loads(DOCUMENT.read_text())["paths"].items():
        for method, operation in item.items():
            expected = {"429", "502", "504", "default"}
            if operation.get("security") != []:
                expected.add("403")
            if "requestBody" in operation:
                expected.add("413")
            assert expected <= set(operation["responses"]), (method, path)
            if operation.get("security") == []:
                assert "403" not in operation["responses"], (method, path)


def test_every_api_route_validates_its_parameters() -> None:
    """Validation is enabled per route (api_docs.VALIDATED), so a route that forgets it is noticed."""
    template = load_template()
    for logical in sorted({route[2] for route in openapi.api_routes(template)}):
        with openapi._function_environment(template, logical):
            app = openapi._load_handler(template, logical).app
        routes = app._static_routes + app._dynamic_routes
        assert routes, logical
        assert all(route.enable_validation for route in routes), logical


def test_api_handlers_import_neither_pydantic_nor_the_documentation_models() -> None:
    """What a cold start imports (make bench-coldstart): the documentation models are for the
    generator, and pydantic comes with a route's first request, not with the handler's import."""
    code = (
        "import importlib.util, sys\n"
        "for name in ('get_export', 'start_export', 'cancel_export', 'receive_webhook'):\n"
        "    spec = importlib.util.spec_from_file_location(name, f'functions/{name}/app.py')\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('aistudios_export.api.schema', 'pydantic'))))\n"
    )
    env = os.environ | {
        "PYTHONPATH": "shared",
        "EXPORTS_TABLE": "t",
        "VIDEO_BUCKET": "b",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:s",
        "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
        "WEBHOOK_SIGNING_SECRET_ID": "s",
    }
    out = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == "[]"


def test_the_parameter_declarations_are_made_on_first_use() -> None:
    from aistudios_export.api import routes as api_docs

    assert set(api_docs._parameters()) == api_docs.PARAMETERS
    assert api_docs.LimitQuery is api_docs._parameters()["LimitQuery"]
    with pytest.raises(AttributeError):
        api_docs.NoSuchQuery  # noqa: B018

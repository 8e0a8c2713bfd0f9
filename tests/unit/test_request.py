from __future__ import annotations

from typing import Any

import pytest

from aistudios_export import RequestValidationError, parse_export_request

pytestmark = pytest.mark.unit
PID = "65fa6b07dca2e367461a2925"


def test_minimal_request_gets_defaults() -> None:
    request = parse_export_request({"projectId": PID.upper()})
    assert request.projectId == PID
    assert request.resolution is None  # the deployment's DefaultResolution applies (test_workflow)
    assert request.workspaceId is None
    assert request.webhookUrl is None


@pytest.mark.parametrize(
    ("given", "expected"), [("4K", "4k"), ("720p", "720"), (480, "480"), (" 1080 ", "1080")]
)
def test_resolution_spellings_are_normalised(given: Any, expected: str) -> None:
    assert parse_export_request({"projectId": PID, "resolution": given}).resolution == expected


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({}, "projectId", "is required"),
        ({"projectId": "abc"}, "projectId", "24-character hexadecimal ObjectId"),
        ({"projectId": 12}, "projectId", "must be a string"),
        ({"projectId": PID, "resolution": "8k"}, "resolution", "must be one of 4k, 1080, 720, 480"),
        ({"projectId": PID, "webhookUrl": "http://example.com/x"}, "webhookUrl", "https"),
        ({"projectId": PID, "webhookUrl": "https://user:pw@example.com/x"}, "webhookUrl", "credentials"),
        ({"projectId": PID, "webhookUrl": "https://127.0.0.1/x"}, "webhookUrl", "public"),
        ({"projectId": PID, "workspaceId": ""}, "workspaceId", "at least 1"),
        ({"projectId": PID, "extra": 1}, "extra", "not a recognised field"),
    ],
)
def test_validation_errors_name_the_field_and_the_problem(
    payload: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(payload)
    errors = {e["field"]: e["message"] for e in caught.value.errors}
    assert field in errors
    assert words in errors[field]
    assert str(caught.value).startswith(f"{field}: ") or f"; {field}: " in str(caught.value)


def test_several_errors_are_reported_together() -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_export_request({"projectId": "x", "resolution": "2"})
    assert [e["field"] for e in caught.value.errors] == ["projectId", "resolution"]


@pytest.mark.parametrize("payload", [None, [], "text", 3])
def test_a_non_object_body_is_rejected(payload: Any) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(payload)
    assert caught.value.errors == [{"field": "body", "message": "must be a JSON object"}]


def test_name_and_metadata_are_kept_as_given() -> None:
    request = parse_export_request(
        {
            "projectId": PID,
            "name": "Spring launch_v2.final",
            "metadata": {"campaign": "spring", "order-7": ""},
        }
    )
    assert request.name == "Spring launch_v2.final"
    assert request.metadata == {"campaign": "spring", "order-7": ""}


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"name": "../etc"}, "name", "starting and ending with a letter or digit"),
        ({"name": "a/b"}, "name", "ASCII letters, digits, spaces"),
        ({"name": "x" * 101}, "name", "1 to 100"),
        ({"name": ""}, "name", "1 to 100"),
        ({"name": " ab"}, "name", "1 to 100"),
        ({"name": "ab\n"}, "name", "1 to 100"),
        ({"metadata": {" a": "x"}}, "metadata. a", "is not a valid key"),
        ({"metadata": {"export-id": "x"}}, "metadata.export-id", "the stack's own object metadata"),
        (
            {"metadata": {"Campaign": "x"}},
            "metadata.Campaign",
            "is not a valid key: must be 1 to 40 lowercase",
        ),
        ({"metadata": {"a_b": "x"}}, "metadata.a_b", "is not a valid key"),
        ({"metadata": {"k" * 41: "x"}}, "metadata." + "k" * 41, "is not a valid key"),
        ({"metadata": {"campaign": "é"}}, "metadata.campaign", "printable ASCII"),
        ({"metadata": {"campaign": "a\nb"}}, "metadata.campaign", "printable ASCII"),
        ({"metadata": {"campaign": "x" * 257}}, "metadata.campaign", "at most 256"),
        ({"metadata": {"campaign": 3}}, "metadata.campaign", "must be a string"),
        ({"metadata": ["campaign"]}, "metadata", "must be a JSON object"),
        ({"metadata": {f"k{i}": "v" for i in range(11)}}, "metadata", "at most 10 entries"),
        ({"metadata": {f"k{i}": "v" * 256 for i in range(10)}}, "metadata", "at most 1536 characters"),
    ],
)
def test_invalid_references_name_the_field(extra: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_export_request({"projectId": PID, **extra})
    errors = {e["field"]: e["message"] for e in caught.value.errors}
    assert words in errors[field], errors


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"metadata": {"a\n": "x"}}, "metadata.a\\n"),  # the line break as JSON writes it
        ({"metadata": {"a\\n": "x"}}, "metadata.a\\\\n"),  # a backslash the caller sent, told apart
        ({"metadata": {"a\u202e\u0000": "x"}}, "metadata.a\\u202e\\u0000"),
        ({"metadata": {"k" * 5000: "x"}}, "metadata." + "k" * 64 + "..."),
        ({"metadata": {"caf\u00e9": "x"}}, "metadata.caf\u00e9"),  # printable: as the caller spelled it
        ({"a\r\nb": 1}, "a\\r\\nb"),
    ],
)
def test_a_bad_key_is_echoed_escaped_and_cut_short(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_export_request({"projectId": PID, **extra})
    assert [e["field"] for e in caught.value.errors] == [field]
    assert all(c.isprintable() for c in str(caught.value))

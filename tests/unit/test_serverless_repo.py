"""template.yaml's Serverless Application Repository metadata, held to the repository's rules
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-template-publishing-applications-metadata-properties.html)
so that `sam publish` accepts it: the SAM translator takes the template with it, every field has the
form the repository requires, the version is the project's, and the files it names exist."""

from __future__ import annotations

import re
import tomllib
from typing import Any
from urllib.parse import urlsplit

import pytest
from samtranslator.yaml_helper import yaml_parse

from tests.helpers import REPO
from tests.unit.sam_transform import transformed

KEY = "AWS::ServerlessRepo::Application"
REQUIRED = ("Name", "Description", "Author")
KNOWN = {
    *REQUIRED,
    "SpdxLicenseId",
    "LicenseUrl",
    "ReadmeUrl",
    "Labels",
    "HomePageUrl",
    "SemanticVersion",
    "SourceCodeUrl",
}
# semver.org's regular expression for a version
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def _metadata() -> dict[str, Any]:
    template = yaml_parse((REPO / "template.yaml").read_text())
    return dict(template.get("Metadata", {}).get(KEY, {}))


def test_the_translator_accepts_the_template_and_keeps_the_metadata() -> None:
    assert transformed()["Metadata"][KEY] == _metadata()


def test_required_fields_present_and_no_unknown_ones() -> None:
    metadata = _metadata()
    assert [f for f in REQUIRED if not metadata.get(f)] == []
    assert set(metadata) <= KNOWN, set(metadata) - KNOWN


def test_values_are_plain_the_repository_takes_no_intrinsic_functions() -> None:
    metadata = _metadata()
    assert metadata
    for name, value in metadata.items():
        values = value if name == "Labels" else [value]
        assert all(isinstance(v, str) for v in values), (name, value)


def test_fields_have_the_repository_s_form() -> None:
    metadata = _metadata()
    assert re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", metadata["Name"])
    assert 1 <= len(metadata["Description"]) <= 256, len(metadata["Description"])
    author = metadata["Author"]
    assert len(author) <= 127
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", author)
    labels = metadata["Labels"]
    assert 1 <= len(labels) <= 10
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in labels), labels
    assert metadata["SpdxLicenseId"] == "Apache-2.0"


@pytest.mark.parametrize("field", ["HomePageUrl", "SourceCodeUrl"])
def test_urls_are_https_urls(field: str) -> None:
    url = urlsplit(_metadata()[field])
    assert url.scheme == "https", url
    assert "." in (url.hostname or ""), url


def test_semantic_version_is_the_project_s() -> None:
    version = _metadata()["SemanticVersion"]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert SEMVER.fullmatch(version), version
    assert version == project


@pytest.mark.parametrize("field", ["LicenseUrl", "ReadmeUrl"])
def test_local_files_exist_in_the_repository(field: str) -> None:
    """`sam package` uploads them to S3 and writes their S3 URLs into the packaged template."""
    path = REPO / _metadata()[field]
    assert path.is_file(), path
    assert path.resolve().is_relative_to(REPO.resolve()), path
    assert path.stat().st_size <= 5 * 1024 * 1024  # the repository's limit


def test_the_licence_file_is_apache_2_0() -> None:
    text = (REPO / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License\n")
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert "[yyyy]" not in text
    assert "Copyright 2026 The aistudios-export contributors" in text

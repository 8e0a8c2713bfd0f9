"""The transformed templates `make scan` scans: each resource SAM generates carries the checkov skips
of the SAM resource it comes from, and nothing else changes."""

from __future__ import annotations

import pytest

from docgen.scan_templates import PARAMETER_SETS, check_parameters, scan_template
from local.stack.template import load_template
from tests.unit.sam_transform import resources_of_type, transformed

pytestmark = pytest.mark.unit

SAM = load_template()


def _skips(resource: dict) -> object:
    return resource.get("Metadata", {}).get("checkov")


def test_generated_resources_carry_the_skips_of_their_sam_resource() -> None:
    scanned, plain = scan_template("us-east-1", {}), transformed()
    [(stage_id, stage)] = resources_of_type(scanned, "AWS::ApiGateway::Stage").items()
    assert stage_id.startswith("ExportsApi")
    assert _skips(stage) == _skips(SAM["Resources"]["ExportsApi"])
    assert _skips(scanned["Resources"]["StartExportFunctionRole"]) == _skips(
        SAM["Resources"]["StartExportFunction"]
    )
    # SharedLayer's Metadata (BuildMethod) has no skip: its layer version gets no Metadata at all
    for version in resources_of_type(scanned, "AWS::Lambda::LayerVersion").values():
        assert "Metadata" not in version
    for logical, resource in scanned["Resources"].items():
        if logical in SAM["Resources"] or not _skips(resource):
            assert resource == plain["Resources"][logical], logical
    assert set(scanned["Resources"]) == set(plain["Resources"])


def test_the_parameter_sets_are_ones_the_template_accepts() -> None:
    for parameters in PARAMETER_SETS.values():
        check_parameters(parameters, SAM["Parameters"])
    with pytest.raises(ValueError, match="DestinationKeyTemplate"):
        check_parameters({"DestinationKeyTemplate": "campaigns/{date}/{name}.mp4"}, SAM["Parameters"])
    with pytest.raises(ValueError, match="DestinationKmsKeyArn"):
        check_parameters({"DestinationKmsKeyArn": "alias/team-media"}, SAM["Parameters"])

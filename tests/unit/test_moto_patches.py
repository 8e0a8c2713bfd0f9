"""The local stack's patches to moto are applied only to a moto they were tested with."""

from __future__ import annotations

import tomllib

import moto
import pytest

from local.stack import moto_patches
from local.stack.moto_patches import TESTED_RANGE, UntestedMotoVersionError, check_moto_version
from tests.helpers import REPO

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("version", ["5.2.5", "5.2.12", "5.2.5.post1", "5.2.7+local"])
def test_a_moto_in_the_tested_range_is_accepted(version: str) -> None:
    check_moto_version(version)


@pytest.mark.parametrize(
    "version", ["5.2.4", "5.1.9", "5.3.0", "5.3", "6.0.0", "5.3.0.dev1", "5.2.6rc1", "x"]
)
def test_any_other_moto_is_refused_naming_the_installed_and_the_tested_versions(version: str) -> None:
    with pytest.raises(UntestedMotoVersionError) as refused:
        check_moto_version(version)
    assert f"moto {version} is installed" in str(refused.value)
    assert "tested with moto >=5.2.5,<5.3" in str(refused.value)


def test_applying_the_patches_to_an_untested_moto_fails_before_patching(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(UntestedMotoVersionError, match=r"moto 5\.3\.0 is installed"):
        moto_patches.s3_patches()
    with pytest.raises(UntestedMotoVersionError):
        moto_patches.stack_patches(supervisor=None)  # type: ignore[arg-type]


def test_the_installed_moto_is_a_tested_one() -> None:
    check_moto_version(moto.__version__)


def test_the_dev_dependency_pins_moto_to_the_tested_range() -> None:
    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    pins = [requirement for requirement in dev if requirement.startswith("moto[")]
    assert [pin.split("]", 1)[1] for pin in pins] == [TESTED_RANGE]

from __future__ import annotations

from dataclasses import fields

import pytest

from aistudios_export import ConfigurationError, Settings

pytestmark = pytest.mark.unit


def test_defaults_and_parsing() -> None:
    s = Settings.from_env(
        {
            "EXPORTS_TABLE": "t",
            "EXPORT_DEADLINE_MINUTES": "45",
            "DOWNLOAD_ALLOWED_HOSTS": " a.com, b.net ,",
            "PART_SIZE_MB": "8",
        },
        require=("table_name",),
    )
    assert s.aistudios_base_url == "https://app.aistudios.com"
    assert s.export_deadline_seconds == 45 * 60
    assert s.download_allowed_hosts == ("a.com", "b.net")
    assert s.part_size_bytes == 8 * 1024 * 1024
    assert s.local_http_origin == ""


def test_seconds_override_minutes() -> None:
    s = Settings.from_env({"EXPORT_DEADLINE_MINUTES": "45", "EXPORT_DEADLINE_SECONDS": "12"})
    assert s.export_deadline_seconds == 12


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "EXPORTS_TABLE"),
        ({"EXPORTS_TABLE": "t", "POLL_MIN_WAIT_SECONDS": "x"}, "POLL_MIN_WAIT_SECONDS must be a number"),
        (
            {"EXPORTS_TABLE": "t", "POLL_MIN_WAIT_SECONDS": "60", "POLL_MAX_WAIT_SECONDS": "30"},
            "must not exceed",
        ),
        ({"EXPORTS_TABLE": "t", "DEFAULT_RESOLUTION": "8k"}, "DEFAULT_RESOLUTION"),
        ({"EXPORTS_TABLE": "t", "AISTUDIOS_BASE_URL": "http://x"}, "must use https"),
        ({"EXPORTS_TABLE": "t", "PART_SIZE_MB": "1"}, "PART_SIZE_MB must be >= 5"),
        ({"EXPORTS_TABLE": "t", "MAX_VIDEO_BYTES": "0"}, "MAX_VIDEO_BYTES must be >= 1"),
    ],
)
def test_bad_configuration_fails_fast_with_the_variable_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(env, require=("table_name",))


def test_repr_hides_credentials() -> None:
    s = Settings.from_env({"AISTUDIOS_APP_ID": "app", "AISTUDIOS_USER_KEY": "very-secret"})
    assert "very-secret" not in repr(s)
    assert "very-secret" not in str(s)


# Only the settings that can be missing: those whose default is empty.
OPTIONAL = [f.name for f in fields(Settings) if getattr(Settings(), f.name) in ("", None, (), False, 0)]


@pytest.mark.parametrize("setting", OPTIONAL)
def test_a_missing_required_setting_is_named_by_its_variable(setting: str) -> None:
    with pytest.raises(ConfigurationError, match=Settings.env_name(setting)):
        Settings.from_env({}, require=(setting,))


def test_every_variable_the_template_sets_is_read_by_a_setting() -> None:
    from local.stack.template import load_template, resources_of_type

    template = load_template()
    read = {f.metadata["env"] for f in fields(Settings)}
    # not for the code: the parameters a workflow function's published version was made with
    # (template.yaml, PollExportFunction, says why)
    read.add("TEMPLATE_PARAMETERS")
    for logical, function in resources_of_type(template, "AWS::Serverless::Function").items():
        names = set(function["Properties"].get("Environment", {}).get("Variables", {}))
        assert names <= read, f"{logical} sets {names - read}, which no setting reads"

"""Where a video lands: the key template (checked the same way by template.yaml's AllowedPattern and
at cold start), the keys it renders, and the objects' encryption and metadata in a bucket of the
user's own under their KMS key (moto in-process)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from aistudios_export import Adapters, ConfigurationError, ExportRecord, Settings
from aistudios_export.delivery import thumbnails
from aistudios_export.delivery.bucket import VideoBucket
from aistudios_export.delivery.engine import MIN_PART_SIZE, VideoDelivery
from aistudios_export.delivery.keys import (
    ALLOWED_PATTERN,
    DEFAULT_KEY_TEMPLATE,
    Encryption,
    KeyTemplate,
    sanitize_name,
)
from aistudios_export.net.pinned import PinnedAdapter
from local.stack.template import load_template
from tests.unit.delivery.test_engine import ORIGIN, mp4, serving

pytestmark = pytest.mark.unit
PROJECT, EXPORT = "65fa6b07dca2e367461a2925", "0193a1b2c3d4" + "ab" * 10
KMS_ARN = "arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"

GOOD = [
    DEFAULT_KEY_TEMPLATE,
    "campaigns/{date}/{projectId}-{exportId}.mp4",
    "media/ai-studios/{name}/{resolution}/{exportId}.mp4",
    "date=x/{date}/{exportId}.mp4",
    "v/{exportId}.mp4",
    "team_(a)/it's/{exportId}!.mp4",
]
BAD = {
    "campaigns/{date}/{projectId}.mp4": "must contain {exportId}",
    "{projectId}/{exportId}.mp4": "must start with a fixed folder",
    "videos{exportId}.mp4": "must start with a fixed folder",
    "/videos/{exportId}.mp4": "must start with a fixed folder",
    "requests/{exportId}.mp4": "must not start with requests/",
    "results/{exportId}.mp4": "must not start with results/",
    "v/{exportId}.mov": "must end in .mp4",
    "v/{exportID}.mp4": "unknown placeholder {exportID}",
    "v/{exportId}/{}.mp4": "unknown placeholder {}",
    "v/*/{exportId}.mp4": "'*' not allowed",
    "v/{exportId}?.mp4": "'?' not allowed",
    "v/$AWS/{exportId}.mp4": "'$' not allowed",
    "v/${AWS::Region}/{exportId}.mp4": "unknown placeholder {AWS::Region}",
    "v/{exportId.mp4": "'{' not allowed",
    "v/{exportId}}.mp4": "'}' not allowed",
    "v/ {exportId}.mp4": "' ' not allowed",
    "v/../{exportId}.mp4": "must not contain // or ..",
    "v//{exportId}.mp4": "must not contain // or ..",
    "": "must be 1 to 512 characters",
    "v/" + "x" * 600 + "{exportId}.mp4": "must be 1 to 512 characters",
    "v/{exportId}" + "{name}" * 10 + ".mp4": "may render 1038 characters",
}


def _template_parameter(name: str) -> dict[str, Any]:
    return dict(load_template()["Parameters"][name])


def test_the_deploy_time_pattern_is_the_runtime_check() -> None:
    parameter = _template_parameter("DestinationKeyTemplate")
    assert parameter["AllowedPattern"] == ALLOWED_PATTERN
    assert parameter["Default"] == DEFAULT_KEY_TEMPLATE == Settings().key_template
    assert parameter["MaxLength"] == 512
    for text in GOOD:
        assert KeyTemplate.parse(text).text == text
        assert re.fullmatch(ALLOWED_PATTERN, text), text
    for text, reason in BAD.items():
        with pytest.raises(ValueError, match=re.escape(reason)):
            KeyTemplate.parse(text)
        # the deploy refuses it too, but for a rendered length only the runtime can count
        refused_at_deploy = not re.fullmatch(ALLOWED_PATTERN, text) or len(text) > 512
        assert refused_at_deploy or "may render" in reason, text


def test_the_prefix_is_the_fixed_part_before_the_first_placeholder() -> None:
    assert KeyTemplate.parse(DEFAULT_KEY_TEMPLATE).prefix == "exports/"
    assert KeyTemplate.parse("media/c-{date}/{exportId}.mp4").prefix == "media/c-"


def _record(**fields: Any) -> ExportRecord:
    return ExportRecord(EXPORT, PROJECT, "720", created_at="2026-12-31T23:59:59.999Z", **fields)


def test_a_key_is_made_of_the_exports_own_values_only() -> None:
    bucket = VideoBucket(
        None, "media", key_template=KeyTemplate.parse("c/{date}/{resolution}/{name}-{exportId}.mp4")
    )

    assert (
        bucket.key_for(_record(name="Spring launch v2")) == f"c/2026-12-31/720/Spring-launch-v2-{EXPORT}.mp4"
    )
    # without a name (or nothing left of it), the project's id
    assert bucket.key_for(_record()) == f"c/2026-12-31/720/{PROJECT}-{EXPORT}.mp4"
    assert bucket.key_for(_record(name="...")) == f"c/2026-12-31/720/{PROJECT}-{EXPORT}.mp4"
    # the default layout is today's
    assert VideoBucket(None, "videos").key_for(_record()) == f"exports/{PROJECT}/{EXPORT}.mp4"


@pytest.mark.parametrize(
    ("name", "segment"),
    [
        ("Café Ölé", "Cafe-Ole"),
        ("../../etc/passwd", "etc-passwd"),
        ("a..b", "a.b"),
        (".hidden.", "hidden"),
        ("  spaced  out  ", "spaced-out"),
        ("日本語", ""),
        ("x" * 150, "x" * 100),
        ("a/b\\c?d*e%f{g}", "a-b-c-d-e-f-g"),
    ],
)
def test_a_name_becomes_a_safe_key_segment(name: str, segment: str) -> None:
    assert sanitize_name(name) == segment


def test_a_bad_layout_fails_at_cold_start_naming_its_variable() -> None:
    env = {"VIDEO_BUCKET": "media", "KEY_TEMPLATE": "media/{projectId}.mp4"}
    with pytest.raises(ConfigurationError, match=r"KEY_TEMPLATE .* must contain \{exportId\}"):
        Adapters(Settings.from_env(env))
    with pytest.raises(ConfigurationError, match="VIDEO_ENCRYPTION 'aws:kms': expected"):
        Adapters(Settings.from_env({"VIDEO_BUCKET": "media", "VIDEO_ENCRYPTION": "aws:kms"}))
    Adapters(Settings.from_env({"KEY_TEMPLATE": "unchecked"}))  # a function without videos


def test_encryption_arguments() -> None:
    assert Encryption.parse("AES256").arguments() == {"ServerSideEncryption": "AES256"}
    assert Encryption.parse("bucket-default").arguments() == {}
    assert Encryption.parse(KMS_ARN).arguments() == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": KMS_ARN,
        "BucketKeyEnabled": True,
    }


@pytest.fixture
def media() -> Iterator[tuple[Any, str]]:
    """A bucket of the user's own, with their own KMS key."""
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="media")
        key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        yield s3, key


def test_video_and_thumbnail_are_encrypted_with_the_given_key_and_carry_the_metadata(
    media: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, key = media
    encryption = Encryption.parse(key).arguments()
    video = mp4(2 * MIN_PART_SIZE + 5)
    session, _ = serving(lambda request: (200, {"Content-Length": str(len(video))}, video))
    metadata = {"campaign": "spring", "export-id": EXPORT}

    result = VideoDelivery(s3, session, part_size=MIN_PART_SIZE, encryption=encryption).deliver(
        f"{ORIGIN}/v.mp4", bucket="media", key="c/v.mp4", metadata=metadata, filename="Spring launch"
    )
    stored = s3.head_object(Bucket="media", Key="c/v.mp4")
    assert (result.size, result.parts) == (len(video), 3)
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"]) == ("aws:kms", key)
    assert stored["Metadata"] == metadata
    assert 'filename="Spring launch.mp4"' in stored["ContentDisposition"]

    png = b"\x89PNG\r\n\x1a\n"
    session, _ = serving(lambda request: (200, {"Content-Type": "image/png"}, png))
    monkeypatch.setattr(thumbnails, "pinned_session", lambda: (session, PinnedAdapter()))
    stored_key = thumbnails.copy_thumbnail(
        s3, f"{ORIGIN}/t.png", bucket="media", key_stem="c/v", encryption=encryption, metadata=metadata
    )
    thumbnail = s3.head_object(Bucket="media", Key="c/v.png")
    assert stored_key == "c/v.png"
    assert (thumbnail["SSEKMSKeyId"], thumbnail["Metadata"]) == (key, metadata)

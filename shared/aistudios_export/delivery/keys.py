"""Where a video lands: the key template (checked once, at cold start), the key it gives each export,
and how the objects are encrypted. Pure: no AWS, no clock; every value a key is made of is the
export's own, so each Deliver attempt of an export (and its resume) gets the same key."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..errors import ConfigurationError

DEFAULT_KEY_TEMPLATE = "exports/{projectId}/{exportId}.mp4"
MAX_TEMPLATE_LENGTH = 512
MAX_KEY_BYTES = 1024  # S3's limit
MAX_NAME_LENGTH = 100
# The longest each placeholder renders (exportId: models.new_export_id's 32 hex digits).
PLACEHOLDERS = {"projectId": 24, "exportId": 32, "resolution": 4, "date": 10, "name": MAX_NAME_LENGTH}
# The stack's own bucket reads request files under requests/ and writes results under results/.
RESERVED_FOLDERS = ("requests", "results")
# S3's "safe" key characters, '=' (date=... folders) too; no '*' or '?' (IAM wildcards in the
# prefix the roles are scoped to), no '$' or '{' outside a placeholder.
_FIXED = re.compile(r"[A-Za-z0-9!_.'()=/-]*")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

# Held equal to KeyTemplate.parse by tests/unit/delivery/test_keys.py (template.yaml's AllowedPattern).
ALLOWED_PATTERN = (
    r"^(?!(requests|results)/)(?=.*\{exportId\})(?!.*//)(?!.*\.\.)"
    r"[A-Za-z0-9!_.'()=-]+/([A-Za-z0-9!_.'()=/-]|\{(projectId|exportId|resolution|date|name)\})*\.mp4$"
)


@dataclass(frozen=True)
class KeyTemplate:
    """A key layout such as `campaigns/{date}/{name}-{exportId}.mp4`."""

    text: str

    @classmethod
    def parse(cls, text: str) -> KeyTemplate:
        """The template, or ValueError saying what is wrong with it. It must:
        - contain {exportId}: a key is written once, never replaced (If-None-Match), so a layout
          that two exports could share would fail the second after its render was paid for;
        - start with a fixed folder (`videos/...`): the roles may write under that prefix only;
        - end in .mp4: the thumbnail goes beside the video, under the same prefix."""
        problem = _problem(text)
        if problem:
            raise ValueError(f"{text!r}: {problem}")
        return cls(text)

    @property
    def prefix(self) -> str:
        """The fixed part before the first placeholder: the roles' write permission ends there."""
        return self.text.split("{", 1)[0]

    def render(
        self, *, project_id: str, export_id: str, resolution: str, requested_at: str, name: str | None
    ) -> str:
        """The export's key. `requested_at`: its RFC 3339 request time ({date} is its UTC day);
        `name` is sanitized, and without one (or nothing left of it) {name} is the project's id."""
        values = {
            "projectId": project_id,
            "exportId": export_id,
            "resolution": resolution,
            "date": requested_at[:10],
            "name": sanitize_name(name) or project_id,
        }
        key = _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.text)
        if ".." in key or "//" in key or len(key.encode()) > MAX_KEY_BYTES:  # parse rules it out
            raise ValueError(f"unsafe key {key!r}")
        return key


def sanitize_name(name: str | None) -> str:
    """A caller's name as a key segment: ASCII letters, digits, '.', '_' and '-' (accents dropped,
    anything else one '-'), no dots in a row, none at either end, at most 100 characters."""
    if not name:
        return ""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"\.{2,}", ".", _UNSAFE_NAME.sub("-", ascii_name))
    return cleaned[:MAX_NAME_LENGTH].strip(".-_")


def _problem(text: str) -> str:
    if not text or len(text) > MAX_TEMPLATE_LENGTH:
        return f"must be 1 to {MAX_TEMPLATE_LENGTH} characters"
    names = _PLACEHOLDER.findall(text)
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}} (known: {', '.join(PLACEHOLDERS)})"
    fixed = _PLACEHOLDER.sub("", text)
    if not _FIXED.fullmatch(fixed):
        bad = sorted(set(_FIXED.sub("", fixed)))
        return f"character(s) {''.join(bad)!r} not allowed (letters, digits, /!_.'()=- and placeholders)"
    if "exportId" not in names:
        return "must contain {exportId}, so that no two exports share a key"
    if not text.endswith(".mp4"):
        return "must end in .mp4"
    first = text.split("/", 1)[0]
    if "/" not in text or not first or "{" in first:
        return "must start with a fixed folder (such as videos/), the prefix the roles may write under"
    if first in RESERVED_FOLDERS:
        return f"must not start with {first}/ (the stack's request files and their results)"
    if "//" in text or ".." in text:
        return "must not contain // or .."
    longest = len(fixed) + sum(PLACEHOLDERS[n] for n in names)
    if longest > MAX_KEY_BYTES:
        return f"may render {longest} characters, over S3's {MAX_KEY_BYTES}"
    return ""


@dataclass(frozen=True)
class Encryption:
    """How the videos and thumbnails are encrypted: `AES256` (SSE-S3, the stack's own bucket),
    `bucket-default` (a bucket of yours without a key given: its own default applies), or a KMS key
    ARN (SSE-KMS with that key, S3 Bucket Keys on to spare KMS requests)."""

    setting: str = "AES256"

    @classmethod
    def parse(cls, text: str) -> Encryption:
        if text in ("AES256", "bucket-default") or re.fullmatch(
            r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+", text
        ):
            return cls(text)
        raise ValueError(f"{text!r}: expected AES256, bucket-default or a KMS key ARN")

    @property
    def kms_key_arn(self) -> str | None:
        return self.setting if self.setting.startswith("arn:") else None

    def arguments(self) -> dict[str, Any]:
        """The PutObject / CreateMultipartUpload arguments."""
        if self.kms_key_arn:
            return {
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": self.kms_key_arn,
                "BucketKeyEnabled": True,
            }
        return {"ServerSideEncryption": "AES256"} if self.setting == "AES256" else {}


def checked_layout(key_template: str, encryption: str) -> tuple[KeyTemplate, Encryption]:
    """KEY_TEMPLATE and VIDEO_ENCRYPTION, or ConfigurationError naming the one that is wrong."""
    try:
        template = KeyTemplate.parse(key_template)
    except ValueError as exc:
        raise ConfigurationError(f"KEY_TEMPLATE {exc}") from None
    try:
        return template, Encryption.parse(encryption)
    except ValueError as exc:
        raise ConfigurationError(f"VIDEO_ENCRYPTION {exc}") from None


DEFAULT_TEMPLATE = KeyTemplate(DEFAULT_KEY_TEMPLATE)
SSE_S3 = Encryption()
SSE_S3_ARGUMENTS: Mapping[str, Any] = MappingProxyType(SSE_S3.arguments())

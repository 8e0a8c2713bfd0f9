"""The simulator's routes: which request path is which AI Studios call, and log redaction."""

from __future__ import annotations

import re

API_PREFIX = "/api/odin/v3"

_ROUTES: tuple[tuple[str, re.Pattern[str], frozenset[str]], ...] = (
    ("token", re.compile(re.escape(API_PREFIX) + r"/auth/token"), frozenset({"POST"})),
    ("export", re.compile(re.escape(API_PREFIX) + r"/editor/project/export"), frozenset({"POST"})),
    ("progress", re.compile(re.escape(API_PREFIX) + r"/editor/progress/([^/]+)"), frozenset({"GET"})),
    ("project", re.compile(re.escape(API_PREFIX) + r"/editor/project/([^/]+)"), frozenset({"GET"})),
    ("download", re.compile(r"/cdn/videos/([^/]+)/[^/]+"), frozenset({"GET", "HEAD"})),
    ("thumbnail", re.compile(r"/cdn/thumbnails/([0-9a-fA-F]{24})\.png"), frozenset({"GET", "HEAD"})),
    ("admin", re.compile(r"/_sim(/.*)?"), frozenset({"GET", "POST", "DELETE"})),
)

_QUERY_RE = re.compile(r"\?[^\s\"']*")


def classify(path: str) -> tuple[str, str | None, frozenset[str]]:
    """Route name, project id from the path (if any) and allowed methods of a request path."""
    for name, pattern, methods in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            project_id = match.group(1) if name in ("progress", "project", "download", "thumbnail") else None
            return name, project_id, methods
    return "unknown", None, frozenset()


def redact(text: str) -> str:
    """Replace every query string in ``text`` by ``?<redacted>`` (signed URLs are credentials)."""
    return _QUERY_RE.sub("?<redacted>", text)

"""Receiver tokens: the unguessable part of the URL AI Studios is given for one export. Only a
token's SHA-256 is stored; the receiver compares hashes."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def receiver_url(base: str, export_id: str, token: str) -> str:
    """The URL AI Studios is given for one export: `<API>/webhooks/<exportId>/<token>`."""
    return f"{base.rstrip('/')}/{export_id}/{token}"

"""Admin routes (not part of AI Studios): stats, faults, reset, token expiry, a project's render, and
an inbox that plays a caller's own webhook endpoint (see inbox.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qs

from .config import Fault
from .engine import SimulatorEngine
from .envelope import Reply, bad_json, error, ok, parse_json


def admin_reply(
    sim: SimulatorEngine,
    method: str,
    path: str,
    raw: bytes,
    headers: Mapping[str, str] | None = None,
    query: str = "",
) -> Reply:
    """Answer one ``/_sim/...`` request."""
    if (method, path) == ("GET", "/_sim/stats"):
        return ok(sim.stats())
    if (method, path) == ("GET", "/_sim/faults"):
        return ok([f.to_dict() for f in sim.faults.pending()])
    if (method, path) == ("POST", "/_sim/faults"):
        body, json_ok = parse_json(raw)
        if not json_ok:
            return bad_json()
        try:
            fault = Fault.from_dict(body)
        except (TypeError, ValueError) as exc:
            return error(400, "InvalidFault", str(exc))
        sim.inject(fault)
        return ok({"fault": fault.to_dict()})
    if (method, path) == ("DELETE", "/_sim/faults"):
        sim.clear_faults()
        return ok({"cleared": True})
    if (method, path) == ("POST", "/_sim/reset"):
        sim.reset()
        return ok({"reset": True})
    if (method, path) == ("POST", "/_sim/expire-tokens"):
        sim.expire_tokens()
        return ok({"expired": True})
    inbox = re.fullmatch(r"/_sim/inbox/([A-Za-z0-9_-]{1,64})", path)
    if inbox and method == "POST":
        asked = parse_qs(query).get("status", ["200"])[-1]
        status = int(asked) if asked.isdigit() and 200 <= int(asked) <= 599 else 200
        sim.inbox.receive(inbox.group(1), headers or {}, raw, status)
        return ok({"received": True}) if status == 200 else error(status, "InboxRefused", "as asked")
    if inbox and method == "GET":
        return ok(sim.inbox.read(inbox.group(1)))
    match = re.fullmatch(r"/_sim/exports/([0-9a-fA-F]{24})", path)
    if method == "GET" and match:
        return ok(sim.export_state(match.group(1)))
    return error(404, "NotFound", f"no admin route {method} {path}")

"""Admin routes (not part of AI Studios): stats, faults, reset, token expiry, a project's render."""

from __future__ import annotations

import re

from .config import Fault
from .engine import SimulatorEngine
from .envelope import Reply, bad_json, error, ok, parse_json


def admin_reply(sim: SimulatorEngine, method: str, path: str, raw: bytes) -> Reply:
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
    match = re.fullmatch(r"/_sim/exports/([0-9a-fA-F]{24})", path)
    if method == "GET" and match:
        return ok(sim.export_state(match.group(1)))
    return error(404, "NotFound", f"no admin route {method} {path}")

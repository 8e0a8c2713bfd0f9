"""Field truth for the local stack: every function and the state machine call AWS with their own
role's credentials, and every call is authorised against that role's policies from the transformed
template, refused as AWS refuses it, and recorded (see docs/aws-fidelity.md)."""

from __future__ import annotations

from .gate import MODES, IamGate
from .middleware import IamMiddleware
from .principals import Principal, Principals
from .record import LOG_NAME, Call, CallRecord, Unused, unused_permissions
from .roles import RolePlan, transformed

__all__ = [
    "LOG_NAME",
    "MODES",
    "Call",
    "CallRecord",
    "IamGate",
    "IamMiddleware",
    "Principal",
    "Principals",
    "RolePlan",
    "Unused",
    "transformed",
    "unused_permissions",
]

"""What an export's polling costs: the list prices, and the state transitions of a round read from
the state machine itself (statemachine/export.asl.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachine" / "export.asl.json"

# List prices, us-east-1, used for the cost column (free tiers not applied).
SFN_PER_TRANSITION = 0.025 / 1000  # Step Functions Standard, $ per state transition
LAMBDA_GB_SECOND = 0.0000133334  # Lambda arm64, $ per GB-second
LAMBDA_REQUEST = 0.20 / 1_000_000  # Lambda, $ per request
FUNCTION_MEMORY_GB = 256 / 1024  # the poll and webhook receiver functions' MemorySize
INVOCATION_SECONDS = 0.3  # assumed billed duration of a poll or a receiver call (one AI Studios GET)


@dataclass(frozen=True)
class Transitions:
    """State transitions (states entered) of one wait-and-poll round, plain or armed, and of the
    way out once the render is done; `source` says where the numbers came from."""

    plain: int
    armed: int
    done: int
    source: str


def _walk(states: dict[str, Any], start: str, stop: str | None = None) -> int:
    """States entered from `start` (included) following `Next` until `stop` (included), or until
    the execution ends when `stop` is None."""
    name = start
    for count in range(1, len(states) + 1):
        state = states[name]
        if name == stop or (stop is None and (state["Type"] in ("Succeed", "Fail") or state.get("End"))):
            return count
        name = state["Next"]
    raise ValueError(f"no way from {start!r} to {stop or 'the end'!r}")


def transitions_from_asl(path: Path = ASL_PATH) -> Transitions:
    """Walks statemachine/export.asl.json: the round is the StartAt Wait to the Choice that loops
    back to it; the armed round is the Choice's other way back (a wait a webhook can end, timed by
    `nextWaitSeconds`); done is the Choice's way to the delivery (the rule on `downloadReady`), to
    its end. Falls back to today's numbers (3, 3, 2) if the definition no longer has that shape,
    and says so."""
    try:
        definition = json.loads(path.read_text())
        states, start = definition["States"], definition["StartAt"]
        choice = next(n for n, s in states.items() if s["Type"] == "Choice" and s.get("Default") == start)
        rules = [(json.dumps(rule), rule["Next"]) for rule in states[choice]["Choices"]]
        plain = armed = _walk(states, start, choice)
        for _, target in rules:
            if target != start and "nextWaitSeconds" in json.dumps(states[target]):
                armed = _walk(states, target, choice)
        done = next(target for text, target in rules if "downloadReady" in text)
        return Transitions(plain, armed, _walk(states, done), f"read from {path.name}")
    except (OSError, KeyError, StopIteration, ValueError) as exc:
        return Transitions(3, 3, 2, f"fallback constants: {path.name} not as expected ({exc!r})")

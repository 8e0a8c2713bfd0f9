"""Whoever holds a receiver URL cannot make AI Studios answer for it at will: once an export has
refused MAX_REFUSALS webhooks that AI Studios did not confirm, its webhooks are refused without
asking; genuine ones before that, and an AI Studios outage, do not count."""

from __future__ import annotations

import pytest

from aistudios_export import Progress
from aistudios_export.errors import TransientUpstreamError
from aistudios_export.webhooks.receiver import MAX_REFUSALS
from tests.unit.webhooks.conftest import Hooks

pytestmark = pytest.mark.unit


def test_forged_webhooks_ask_ai_studios_a_bounded_number_of_times(hooks: Hooks) -> None:
    hooks.seed()
    hooks.aistudios.readings = [Progress(30.0, "rendering")] * (MAX_REFUSALS + 10)

    answers = [hooks.post({"progress": 100, "backendTaskId": "t"}) for _ in range(MAX_REFUSALS + 10)]

    codes = [a.body["error"]["code"] for a in answers]
    assert codes[:MAX_REFUSALS] == ["WebhookNotConfirmed"] * MAX_REFUSALS
    assert set(codes[MAX_REFUSALS:]) == {"TooManyRefused"}
    assert {a.status for a in answers} == {409}
    assert hooks.aistudios.progress_reads == MAX_REFUSALS
    assert hooks.record().webhook_refusals == MAX_REFUSALS
    assert not hooks.record().webhook_events


def test_a_forged_webhook_does_not_stop_the_genuine_ones(hooks: Hooks) -> None:
    hooks.seed()
    hooks.aistudios.readings = [
        Progress(30.0, "rendering"),
        Progress(30.0, "rendering"),
        Progress(55.0, "rendering"),
    ]

    assert hooks.post({"progress": 100, "backendTaskId": "forged"}).status == 409
    assert hooks.post({"progress": 25, "backendTaskId": "t"}).status == 202
    assert hooks.post({"progress": 50, "backendTaskId": "t"}).status == 202
    assert hooks.record().webhook_refusals == 1


def test_ai_studios_unavailable_is_not_the_senders_refusal(hooks: Hooks) -> None:
    hooks.seed()
    hooks.aistudios.readings = [TransientUpstreamError("down")] * (MAX_REFUSALS + 1) + [
        Progress(30.0, "rendering")
    ]

    for _ in range(MAX_REFUSALS + 1):
        assert hooks.post({"progress": 25, "backendTaskId": "t"}).status == 503
    assert hooks.record().webhook_refusals == 0
    assert hooks.post({"progress": 25, "backendTaskId": "t"}).status == 202

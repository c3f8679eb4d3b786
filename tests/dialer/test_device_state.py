"""Agents' phones: which device a channel is, which states let an agent take a call, folding."""

from datetime import datetime, timezone

import pytest

from outbound_campaign.dialer.device_state import (
    device_change,
    device_of,
    fold_device_states,
    free_agents,
    is_local,
    offerable,
)
from outbound_campaign.dialer.views import AgentView

T0 = datetime(2025, 1, 6, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("channel", "device"),
    [
        ("PJSIP/1001", "PJSIP/1001"),
        ("SIP/alice", "SIP/alice"),
        ("Local/1001@agents", "Local/1001@agents"),
        ("Local/1001@agents/n", "Local/1001@agents"),
    ],
)
def test_device_of_an_agent_channel(channel, device):
    assert device_of(channel) == device


@pytest.mark.parametrize(
    ("channel", "local"),
    [("PJSIP/1001", False), ("SIP/local", False), ("Local/1001@agents", True), ("local/1001@agents/n", True)],
)
def test_only_a_local_channel_is_not_its_own_device(channel, local):
    assert is_local(channel) is local


@pytest.mark.parametrize(
    ("state", "offered"),
    [
        (None, True),
        ("NOT_INUSE", True),
        ("UNKNOWN", True),
        ("INUSE", False),
        ("BUSY", False),
        ("ONHOLD", False),
        ("RINGING", False),
        ("RINGINUSE", False),
        ("UNAVAILABLE", False),
        ("INVALID", False),
    ],
)
def test_only_a_free_or_unknown_phone_is_offered_a_call(state, offered):
    assert offerable(state) is offered


def test_live_events_and_list_items_fold_into_changes_only():
    events = [
        {"Event": "DeviceStateChange", "Privilege": "call,all", "Device": "PJSIP/1001", "State": "INUSE"},
        {"Event": "DeviceStateChange", "ActionID": "ds-1", "Device": "PJSIP/1002", "State": "NOT_INUSE"},
        {"Event": "DeviceStateChange", "Device": "PJSIP/1003", "State": "SOMETHING_NEW"},
        {"Event": "Newstate", "Device": "PJSIP/1004", "State": "INUSE"},
        {"Event": "DeviceStateChange", "Device": "PJSIP/1001", "State": "INUSE"},
    ]
    assert fold_device_states({"PJSIP/1002": "NOT_INUSE"}, events) == {"PJSIP/1001": "INUSE"}
    assert fold_device_states({}, events[:2]) == {"PJSIP/1001": "INUSE", "PJSIP/1002": "NOT_INUSE"}
    assert device_change({"Event": "DeviceStateChange", "Device": "", "State": "INUSE"}) is None


def test_agents_whose_phone_is_busy_are_left_out_in_order():
    agents = [AgentView(n, f"PJSIP/100{n}", frozenset({7}), T0) for n in range(1, 5)]
    states = {"PJSIP/1001": "INUSE", "PJSIP/1002": "NOT_INUSE", "PJSIP/1004": "UNAVAILABLE"}
    assert [agent.id for agent in free_agents(agents, states)] == [2, 3]

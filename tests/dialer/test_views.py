"""The views refuse on creation what could not be sent to Asterisk."""

import dataclasses

import pytest
from engine_builders import CLIENT_FIRST, T0, call, campaign, server

from outbound_campaign.dialer.views import (
    AgentView,
    CallState,
)


def test_server_refuses_a_bad_template_up_front():
    with pytest.raises(ValueError):
        server(customer_dial_template="PJSIP/{name}@trunk")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"caller_id_name": "Evil\r\nAction: Hangup"},
        {"caller_id_name": 'Quote " here'},
        {"caller_id_number": "0800123456"},
        {"dial_timeout": 10},  # must ring at least 15 s
        {"type": CLIENT_FIRST, "hold_message": "hold,x"},
        {"type": CLIENT_FIRST, "abandon_message": "../../etc/passwd"},
        {"type": CLIENT_FIRST, "abandon_message": None},
    ],
)
def test_campaign_values_that_could_break_headers_are_refused(kwargs):
    with pytest.raises(ValueError):
        campaign(**kwargs).check_dialable()


@pytest.mark.parametrize("channel", ["PJSIP/1001\r\nAction: Hangup", "PJSIP/1001,x", "1001", "PJSIP/10 01"])
def test_agent_channel_is_checked(channel):
    with pytest.raises(ValueError):
        AgentView(1, channel, frozenset({7}), T0)


def test_a_call_evolves_as_dataclasses_replace_would():
    original = call()
    changes = {"state": CallState.RINGING, "ringing_at": T0, "cause": 16}
    evolved = original.evolve(**changes)
    assert evolved == dataclasses.replace(original, **changes)
    assert hash(evolved) == hash(dataclasses.replace(original, **changes))
    assert original == call(), "the original is left as it was"
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolved.cause = 17


def test_a_call_refuses_to_evolve_a_field_it_does_not_have():
    with pytest.raises(TypeError, match="ringing_time"):
        call().evolve(ringing_time=T0)

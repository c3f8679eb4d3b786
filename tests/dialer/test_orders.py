"""The Originates the engine sends, header by header, as the call-flow contract says."""

import pytest
from engine_builders import CLIENT_FIRST, T0, UUID, agent, campaign, contact, server, uuids

from outbound_campaign.dialer.pacing import TokenBucket
from outbound_campaign.dialer.planning import TurnState, plan
from outbound_campaign.dialer.views import (
    CallState,
)


def test_agent_first_originate_headers_follow_the_contract():
    decided = plan(
        TurnState(T0, server(), [campaign()], [agent(1)], [], {7: [contact(3)]}), TokenBucket(5), uuids()
    )
    (order,) = decided.originates
    assert order.to_ami_headers() == {
        "Action": "Originate",
        "Channel": "PJSIP/1001",
        "Context": "oc-agent-first",
        "Exten": "s",
        "Priority": "1",
        "Async": "true",
        "Timeout": "20000",
        "CallerID": '"Campaign 7" <+33180000000>',
        "ChannelId": UUID,
        "OtherChannelId": f"{UUID}-2",
        "Variable": f"OC_CALL_UUID={UUID},OC_CAMPAIGN_ID=7,OC_DAY=20250106,"
        "OC_DIAL=PJSIP/+33123456789@trunk,OC_DIAL_TIMEOUT=25,OC_CALLERID_NUM=+33180000000",
        "ActionID": f"oc-{UUID}",
    }
    assert order.variables["OC_DIAL"] == "PJSIP/+33123456789@trunk"
    assert (order.call.state, order.call.queued_at, order.call.agent_id, order.call.contact_id) == (
        CallState.QUEUED,
        T0,
        1,
        3,
    )


def test_client_first_originate_headers_follow_the_contract():
    client = campaign(type=CLIENT_FIRST, max_wait=4)
    decided = plan(
        TurnState(T0, server(), [client], [agent(1)], [], {7: [contact(3)]}), TokenBucket(5), uuids()
    )
    (order,) = decided.originates
    assert order.to_ami_headers() == {
        "Action": "Originate",
        "Channel": "Local/s@oc-client-dial/n",
        "Context": "oc-client-first",
        "Exten": "s",
        "Priority": "1",
        "Async": "true",
        "Timeout": "35000",  # the dial timeout (25 s) plus a margin: Dial() gives up first
        "CallerID": '"Campaign 7" <+33180000000>',
        "ChannelId": UUID,
        "OtherChannelId": f"{UUID}-2",
        "Variable": f"OC_CALL_UUID={UUID},OC_CAMPAIGN_ID=7,OC_DAY=20250106,"
        "OC_DIAL=PJSIP/+33123456789@trunk,OC_DIAL_TIMEOUT=25,OC_CALLERID_NUM=+33180000000,"
        "OC_MAX_WAIT=4,OC_HOLD_MSG=outbound/hold,OC_ABANDON_MSG=outbound/sorry",
        "ActionID": f"oc-{UUID}",
    }
    assert order.call.agent_id is None


def test_client_first_dials_the_customer_from_the_local_second_half():
    local = server(customer_dial_template="Local/{digits}@customers", client_dial_context="my-dial")
    client = campaign(type=CLIENT_FIRST)
    (order,) = plan(
        TurnState(T0, local, [client], [agent(1)], [], {7: [contact(3)]}), TokenBucket(5), uuids()
    ).originates
    headers = order.to_ami_headers()
    assert (headers["Channel"], headers["OtherChannelId"]) == ("Local/s@my-dial/n", f"{UUID}-2")
    assert order.variables["OC_DIAL"] == "Local/33123456789@customers"
    with pytest.raises(ValueError, match="client-dial context"):
        server(client_dial_context="oc,evil")

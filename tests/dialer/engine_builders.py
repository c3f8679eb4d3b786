"""The views, calls and AMI events the engine's tests share: a server, a campaign, agents,
contacts and calls to plan and fold with, at a fixed instant."""

from datetime import datetime, timedelta, timezone

from outbound_campaign.dialer.events import fold_event
from outbound_campaign.dialer.outcomes import CampaignType
from outbound_campaign.dialer.schedule import CallingWindow
from outbound_campaign.dialer.views import (
    AgentView,
    CallState,
    CallView,
    CampaignView,
    ContactView,
    DialerServerView,
)

T0 = datetime(2025, 1, 6, 10, 0, tzinfo=timezone.utc)  # Monday, 11:00 in Paris
MONDAY_1305 = datetime(2025, 1, 6, 13, 5, tzinfo=timezone.utc)  # 05:05 in Los Angeles, 14:05 in Paris
UUID = "c0ffee00-0000-4000-8000-000000000001"
AGENT_FIRST, CLIENT_FIRST = CampaignType.AGENT_FIRST, CampaignType.CLIENT_FIRST


def uuids():
    counter = iter(range(1, 10_000))
    return lambda: f"c0ffee00-0000-4000-8000-{next(counter):012d}"


def server(**kwargs) -> DialerServerView:
    return DialerServerView(
        **({"id": 1, "customer_dial_template": "PJSIP/{number}@trunk", "max_channels": 10} | kwargs)
    )


def campaign(**kwargs) -> CampaignView:
    values = {
        "id": 7,
        "type": AGENT_FIRST,
        "server_id": 1,
        "window": CallingWindow(tz="Europe/Paris"),
        "caller_id_number": "+33180000000",
        "caller_id_name": "Campaign 7",
        "dial_timeout": 25,
        "hold_message": "outbound/hold",
        "abandon_message": "outbound/sorry",
    }
    return CampaignView(**(values | kwargs))


def agent(agent_id: int, idle_minutes: int = 0, campaigns=(7,)) -> AgentView:
    return AgentView(
        agent_id, f"PJSIP/{1000 + agent_id}", frozenset(campaigns), T0 - timedelta(minutes=idle_minutes)
    )


def contact(contact_id: int, number: str = "+33123456789", **kwargs) -> ContactView:
    return ContactView(id=contact_id, campaign_id=kwargs.pop("campaign_id", 7), e164=number, **kwargs)


def call(**kwargs) -> CallView:
    values = {"uuid": UUID, "campaign_id": 7, "contact_id": 1, "server_id": 1, "campaign_type": AGENT_FIRST}
    values |= {"state": CallState.ORIGINATING, "queued_at": T0, "originated_at": T0}
    return CallView(**(values | kwargs))


def steps(call_view: CallView, *timed_events):
    """Fold ``(seconds after T0, event)`` pairs in turn; the transition of each."""
    transitions = []
    for seconds, event in timed_events:
        transition = fold_event(call_view, event, T0 + timedelta(seconds=seconds))
        call_view = transition.call
        transitions.append(transition)
    return transitions


#: Client first, contract v3: the Local pair originated for the call, and the customer's channel
#: its ;2 half dials.
LOCAL_1 = {"Channel": "Local/s@oc-client-dial-0000000a;1", "Uniqueid": UUID, "Linkedid": UUID}
LOCAL_2 = {"Channel": "Local/s@oc-client-dial-0000000a;2", "Uniqueid": f"{UUID}-2", "Linkedid": UUID}
TRUNK = {"Channel": "PJSIP/trunk-0000000b", "Uniqueid": "1795778013.22", "Linkedid": UUID}


def dest(channel: dict[str, str]) -> dict[str, str]:
    return {f"Dest{key}": value for key, value in channel.items()}

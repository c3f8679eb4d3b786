"""What the engine asks Asterisk to do: the ``Originate`` of a new call and, in client first, the
one that rings an agent for a customer waiting on hold, with the headers of
``docs/call-flow-contract.md``.

Our ActionIDs are ``oc-<uuid>`` (first originate) and ``oc-<uuid>-a`` (client-first agent leg):
an ``OriginateResponse`` ``Failure`` carries ``Uniqueid: <unknown>`` (transcripts 03–08), so the
ActionID is what routes it. Every header value is checked before an order exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from . import rules
from .astdb import astdb_day
from .outcomes import CampaignType
from .rules import check_no_control_characters, dial_string
from .views import (
    AGENT_BRIDGE_CONTEXT,
    CHANNEL,
    CONTEXT,
    LEAVE_MESSAGE_CONTEXT,
    AgentView,
    CallView,
    CampaignView,
    ContactView,
    DialerServerView,
    check_pattern,
)

#: Client first: the Originate's Timeout is the campaign's dial timeout plus this margin, so that
#: the ``Dial()`` of ``oc-client-dial`` (``OC_DIAL_TIMEOUT``) always gives up first and records why.
CLIENT_FIRST_TIMEOUT_MARGIN_MS = 10_000


@dataclass(frozen=True)
class OriginateOrder:
    """An ``Originate`` to send; ``call`` is the row to commit first (state ``queued``)."""

    call: CallView
    channel: str
    context: str
    timeout_ms: int
    caller_id: str
    variables: Mapping[str, str]
    other_channel_id: str | None = None

    def __post_init__(self) -> None:
        check_pattern("context", self.context, CONTEXT)
        for name, value in (("Channel", self.channel), ("CallerID", self.caller_id)):
            check_no_control_characters(name, value)
        for name, value in self.variables.items():
            if "," in check_no_control_characters(name, value):
                raise ValueError(f"variable {name}: a comma would split the Variable header")

    def to_ami_headers(self) -> dict[str, str]:
        """The headers of the contract, Variable as one comma-separated header."""
        headers = {
            "Action": "Originate",
            "Channel": self.channel,
            "Context": self.context,
            "Exten": "s",
            "Priority": "1",
            "Async": "true",
            "Timeout": str(self.timeout_ms),
            "CallerID": self.caller_id,
            "ChannelId": self.call.uuid,
        }
        if self.other_channel_id:
            headers["OtherChannelId"] = self.other_channel_id
        headers["Variable"] = ",".join(f"{name}={value}" for name, value in self.variables.items())
        headers["ActionID"] = self.call.action_id
        return headers


@dataclass(frozen=True)
class ConnectAgentOrder:
    """Client first: ring a ready agent and bridge them to the customer waiting on hold.

    The agent leg runs the dialplan context ``oc-agent-bridge`` when the agent answers (not the
    ``Bridge`` application directly: Asterisk runs no dialplan on an application leg, so nothing
    would record that the customer was connected).
    """

    call: CallView
    agent_channel: str
    customer_channel: str
    timeout_ms: int
    context: str = AGENT_BRIDGE_CONTEXT

    def __post_init__(self) -> None:
        check_pattern("customer channel", self.customer_channel, CHANNEL)
        check_pattern("agent channel", self.agent_channel, CHANNEL)
        check_pattern("context", self.context, CONTEXT)

    def to_ami_headers(self) -> dict[str, str]:
        """The contract's agent-leg originate (Async, so the AMI connection never waits on it)."""
        uuid = self.call.uuid
        return {
            "Action": "Originate",
            "Channel": self.agent_channel,
            "Context": self.context,
            "Exten": "s",
            "Priority": "1",
            "Async": "true",
            "Timeout": str(self.timeout_ms),
            "ChannelId": f"{uuid}-a",
            "Variable": f"OC_CALL_UUID={uuid},OC_LEG=agent,OC_CUSTOMER={self.customer_channel}",
            "ActionID": self.call.agent_action_id,
        }


@dataclass(frozen=True)
class LeaveMessageOrder:
    """Agent first, the agent heard a machine and pressed **Leave message**: one AMI ``Redirect``
    of both channels, the customer's to ``oc-leave-message,leave`` (the message after the beep,
    then hang up) and the agent's to ``oc-leave-message,agent`` (hung up at once, the call
    recorded as a message left). ``Redirect`` needs the ``call`` write right, which the dialer's
    AMI user has."""

    call: CallView

    def __post_init__(self) -> None:
        if self.call.campaign_type is not CampaignType.AGENT_FIRST:
            raise ValueError("only an agent-first agent leaves a message by hand")
        check_pattern("customer channel", self.call.customer_channel or "", CHANNEL)
        check_pattern("agent channel", self.call.agent_channel or "", CHANNEL)

    def to_ami_headers(self) -> dict[str, str]:
        return {
            "Action": "Redirect",
            "Channel": self.call.customer_channel,
            "Context": LEAVE_MESSAGE_CONTEXT,
            "Exten": "leave",
            "Priority": "1",
            "ExtraChannel": self.call.agent_channel,
            "ExtraContext": LEAVE_MESSAGE_CONTEXT,
            "ExtraExten": "agent",
            "ExtraPriority": "1",
            "ActionID": f"oc-{self.call.uuid}-m",
        }


def recording_variables(campaign: CampaignView) -> dict[str, str]:
    """``oc-record``'s variables: record this call, after the announcement if there is one."""
    if not campaign.record:
        return {}
    variables = {"OC_RECORD": "1"}
    if campaign.record_announcement:
        variables["OC_RECORD_ANNOUNCE"] = rules.check_sound_name(
            "recording announcement", campaign.record_announcement
        )
    return variables


def originate_order(
    now: datetime,
    server: DialerServerView,
    campaign: CampaignView,
    contact: ContactView,
    agent: AgentView | None,
    uuid: str,
    reserved: bool = False,
) -> OriginateOrder:
    """The Originate that calls ``contact`` for ``campaign``: through ``agent``'s phone, who then
    dials the customer (agent first), or, without an agent, through a Local channel that dials
    the customer and holds them until an agent is sent (client first)."""
    customer = dial_string(server.customer_dial_template, contact.e164)
    call = CallView(
        uuid=uuid,
        campaign_id=campaign.id,
        contact_id=contact.id,
        server_id=server.id,
        campaign_type=campaign.type,
        agent_id=agent.id if agent else None,
        queued_at=now,
        reserved=reserved,
    )
    caller_id = rules.caller_id(campaign.caller_id_name, campaign.caller_id_number)
    variables = {"OC_CALL_UUID": uuid, "OC_CAMPAIGN_ID": str(campaign.id), "OC_DAY": astdb_day(now)}
    variables |= recording_variables(campaign)
    if agent is not None:
        variables |= {
            "OC_DIAL": customer,
            "OC_DIAL_TIMEOUT": str(campaign.dial_timeout),
            "OC_CALLERID_NUM": campaign.caller_id_number,
        }
        variables |= campaign.amd.variables(CampaignType.AGENT_FIRST)
        return OriginateOrder(
            call,
            agent.channel,
            server.agent_first_context,
            campaign.agent_ring_timeout * 1000,
            caller_id,
            variables,
            other_channel_id=f"{uuid}-2",
        )
    # Client first (contract v3): a Local channel whose ;2 half dials the customer in
    # oc-client-dial (and records that dial in AstDB, whatever becomes of it) while ;1, once the
    # customer answered, runs oc-client-first. Asterisk copies every channel variable of ;1 to ;2
    # when it calls the pair (main/core_unreal.c, ast_unreal_call_setup()), so plain names reach
    # both halves. "/n": no Local optimisation, the pair stays until the call ends.
    variables |= {
        "OC_DIAL": customer,
        "OC_DIAL_TIMEOUT": str(campaign.dial_timeout),
        "OC_CALLERID_NUM": campaign.caller_id_number,
        "OC_MAX_WAIT": str(campaign.max_wait),
        "OC_HOLD_MSG": campaign.hold_message or "",
        "OC_ABANDON_MSG": campaign.abandon_message or "",
    }
    variables |= campaign.amd.variables(CampaignType.CLIENT_FIRST)
    return OriginateOrder(
        call,
        f"Local/s@{server.client_dial_context}/n",
        server.client_first_context,
        campaign.dial_timeout * 1000 + CLIENT_FIRST_TIMEOUT_MARGIN_MS,
        caller_id,
        variables,
        other_channel_id=f"{uuid}-2",
    )

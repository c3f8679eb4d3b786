"""A dialer server on a real Asterisk (``realpbx``), with the agents and campaigns a test gives it,
committed for the real dialer process (``odoo-bin outbound_dialer``, :func:`start_dialer`).

What Asterisk did is read back from Asterisk itself: the AstDB records our dialplan wrote
(:meth:`AsteriskWorld.records`), which the calls the dialer stored are compared with.
"""

from collections import namedtuple
from datetime import timezone

from odoo import Command

from ..dialer.outcomes import parse_astdb_value
from .dialer_processes import Committed

#: One stored call, as the tests read it.
Call = namedtuple(
    "Call",
    "uuid campaign_id phone state outcome dial_status cause reason agent_id "
    "answer_at connect_at end_at ring wait talk",
)
#: One contact, as the tests read it.
Contact = namedtuple("Contact", "phone state attempts last_outcome next_attempt_at")

#: What every test campaign shares: any day, any hour, one attempt, no wrap-up, numbers ring the
#: shortest time the rules allow.
CAMPAIGN_DEFAULTS = {
    "caller_id_number": "+442079460999",
    "enforce_legal_hours": False,
    "sat": True,
    "sun": True,
    "max_attempts": 1,
    "wrap_up_time": 0,
    "dial_timeout": 15,
    "agent_ring_timeout": 10,
}


def utc(value):
    """A naive UTC datetime of the database, aware."""
    return None if value is None else value.replace(tzinfo=timezone.utc)


class AsteriskWorld(Committed):
    """A dialer server connected to ``pbx`` as the README says (its least-privilege AMI user,
    the customer trunk of ``dial_template``, by default ``pbx.dial_template``), committed; the
    campaigns, agents and users tests add are removed with it by :meth:`destroy`."""

    def __init__(self, pbx, prefix, dial_template=None):
        super().__init__()
        self.pbx = pbx
        self.prefix = prefix
        self.user_ids, self.agent_ids = [], []
        with self.env() as env:
            self.server_id = (
                env["outbound.dialer.server"]
                .create(
                    {
                        "name": f"{prefix} Asterisk",
                        "host": pbx.host,
                        "port": pbx.ami_port,
                        "username": pbx.username,
                        "secret": pbx.secret,
                        "customer_dial_template": dial_template or pbx.dial_template,
                        "max_channels": 50,
                        "max_calls_per_second": 50,
                    }
                )
                .id
            )

    def add_agents(self, channels):
        """Ready agents ringing at ``channels``, in their order; their ids."""
        with self.env() as env:
            first = len(self.user_ids)
            users = env["res.users"].create(
                [
                    {
                        "name": f"{self.prefix} agent {first + n}",
                        "login": f"{self.prefix.lower()}-{first + n}",
                    }
                    for n in range(len(channels))
                ]
            )
            agents = env["outbound.agent"].create(
                [
                    {"user_id": user.id, "channel": channel, "state": "ready"}
                    for user, channel in zip(users, channels, strict=True)
                ]
            )
            self.track(users.ids, agents.ids)
            return agents.ids

    def track(self, user_ids, agent_ids):
        """Users and agents made elsewhere, removed with the world."""
        self.user_ids += user_ids
        self.agent_ids += agent_ids

    def add_campaign(self, campaign_type, phones, agent_ids, **values):
        """A running campaign of ``campaign_type`` calling ``phones`` with ``agent_ids``."""
        with self.env() as env:
            campaign = env["outbound.campaign"].create(
                {
                    "name": f"{self.prefix} {campaign_type}",
                    "campaign_type": campaign_type,
                    "dialer_server_id": self.server_id,
                    "agent_ids": [Command.set(agent_ids)],
                    "contact_ids": [Command.create({"phone": phone}) for phone in phones],
                    **CAMPAIGN_DEFAULTS,
                    **values,
                }
            )
            campaign.action_run_now()
            return campaign.id

    def add_contacts(self, campaign_id, phones):
        with self.env() as env:
            env["outbound.contact"].create([{"campaign_id": campaign_id, "phone": phone} for phone in phones])

    def campaign_ids(self):
        return [
            row[0]
            for row in self.query(
                "SELECT id FROM outbound_campaign WHERE dialer_server_id = %s", self.server_id
            )
        ]

    def calls(self, campaign_id=None):
        """The server's calls (or one campaign's), oldest first."""
        return [
            Call(*row[:9], *map(utc, row[9:12]), *row[12:])
            for row in self.query(
                """SELECT k.uuid, k.campaign_id, k.phone_e164, k.state, k.outcome, k.dial_status,
                          k.hangup_cause, k.originate_reason, k.agent_id, k.answer_at, k.connect_at,
                          k.end_at, k.ring_duration, k.wait_duration, k.talk_duration
                     FROM outbound_call k JOIN outbound_campaign c ON c.id = k.campaign_id
                    WHERE c.dialer_server_id = %s AND (%s IS NULL OR c.id = %s)
                 ORDER BY k.id""",
                self.server_id,
                campaign_id,
                campaign_id,
            )
        ]

    def contacts(self, campaign_id):
        """``{phone: Contact}`` of a campaign."""
        return {
            row[0]: Contact(row[0], row[1], row[2], row[3], utc(row[4]))
            for row in self.query(
                """SELECT phone_e164, state, attempt_count, last_outcome, next_attempt_at
                     FROM outbound_contact WHERE campaign_id = %s""",
                campaign_id,
            )
        }

    def outcomes(self, campaign_id):
        """``{phone: [outcome of each call, oldest first]}`` of a campaign."""
        outcomes = {}
        for call in self.calls(campaign_id):
            outcomes.setdefault(call.phone, []).append(call.outcome)
        return outcomes

    def agents(self):
        """``{agent id: (state, device state, missed calls in a row)}``."""
        return {
            row[0]: row[1:]
            for row in self.query(
                "SELECT id, state, device_state, missed_call_count FROM outbound_agent WHERE id = ANY(%s)",
                self.agent_ids,
            )
        }

    def connected_holder(self):
        """The holder of the server's lease while its host is connected to Asterisk, else ``""``."""
        (holder, state) = self.query(
            "SELECT holder, connection_state FROM outbound_dialer_server WHERE id = %s", self.server_id
        )[0]
        return holder or "" if state == "connected" else ""

    def in_flight(self):
        """Calls of the server not ended yet."""
        return [call for call in self.calls() if call.state != "ended"]

    def settled(self):
        """No call in flight, no contact in progress nor due within a minute (a call the trunk
        refused is due again five minutes later)."""
        (busy,) = self.query(
            """SELECT count(*) FROM outbound_contact k JOIN outbound_campaign c ON c.id = k.campaign_id
                WHERE c.dialer_server_id = %s
                  AND (k.state = 'in_progress'
                       OR (k.state = 'pending' AND (k.next_attempt_at IS NULL
                           OR k.next_attempt_at < now() AT TIME ZONE 'UTC' + interval '1 minute')))""",
            self.server_id,
        )[0]
        return not busy and not self.in_flight()

    def records(self):
        """``{AstDB key: CallEndRecord}`` of what our dialplan recorded (``<uuid>``, and
        ``<uuid>-dial`` for the dial of a client-first call)."""
        return {
            key.rsplit("/", 1)[-1]: parse_astdb_value(value) for key, value in self.pbx.astdb("oc").items()
        }

    def destroy(self):
        with self.env() as env:
            campaigns = env["outbound.campaign"].with_context(active_test=False)
            campaigns.browse(self.campaign_ids()).unlink()
            # Left on a call by a test that failed midway: they may go now, their calls are gone.
            agents = env["outbound.agent"].with_context(active_test=False).browse(self.agent_ids).exists()
            agents.write({"state": "offline"})
            agents.unlink()
            env["res.users"].browse(self.user_ids).exists().unlink()
            env["outbound.dialer.server"].browse(self.server_id).unlink()

import json
from datetime import timedelta

from odoo import fields

from odoo.addons.bus.models.bus import channel_with_db, json_dump

from .. import live
from .common import OutboundCampaignCase


def take_call(env, agent, contact, wrap_up=30):
    """A call the agent talked on, just ended, as the dialer leaves it: the agent in wrap-up."""
    now = fields.Datetime.now()
    call = env["outbound.call"].create(
        {
            "campaign_id": contact.campaign_id.id,
            "contact_id": contact.id,
            "agent_id": agent.id,
            "state": "ended",
            "outcome": "answered",
            "start_at": now - timedelta(minutes=2),
            "answer_at": now - timedelta(seconds=100),
            "connect_at": now - timedelta(seconds=100),
            "end_at": now,
            "talk_duration": 100,
        }
    )
    contact.write({"state": "done", "attempt_count": contact.attempt_count + 1, "last_outcome": "answered"})
    agent.write(
        {"state": "wrap_up", "current_call_id": call.id, "wrap_up_until": now + timedelta(seconds=wrap_up)}
    )
    return call


class AgentConsoleCase(OutboundCampaignCase):
    """The common fixture, plus an agent in wrap-up after a call they took, and bus helpers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.contact = cls.campaign.contact_ids[0]
        cls.call = cls.take_call(cls.agent, cls.contact)

    @classmethod
    def take_call(cls, agent, contact, wrap_up=30):
        return take_call(cls.env, agent, contact, wrap_up)

    def bus_payloads(self, target, notification_type):
        """Payloads of the notifications of that type written for the target's channel."""
        self.env.cr.precommit.run()  # bus.bus rows are created just before commit
        channel = json_dump(channel_with_db(self.env.cr.dbname, target))
        messages = self.env["bus.bus"].sudo().search([("channel", "=", channel)])
        return [
            json.loads(message.message)["payload"]
            for message in messages
            if json.loads(message.message)["type"] == notification_type
        ]

    def assertNotified(self, agent, campaigns):
        """The agent's console and the managers' dashboard were told of the change."""
        payloads = self.bus_payloads(agent.user_id.partner_id, live.AGENT)
        self.assertIn({"agent_id": agent.id, "state": agent.state}, payloads)
        managers = self.env.ref("outbound_campaign.group_outbound_manager")
        dashboard = self.bus_payloads(managers, live.DASHBOARD)
        told = {campaign_id for payload in dashboard for campaign_id in payload["campaign_ids"]}
        self.assertLessEqual(
            set(campaigns.ids), told, f"no dashboard notification for all of {campaigns.ids}"
        )

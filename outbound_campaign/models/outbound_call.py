import uuid

from odoo import fields, models
from odoo.tools.sql import create_index

CALL_OUTCOMES = [
    ("answered", "Answered"),
    ("busy", "Busy"),
    ("no_answer", "No answer"),
    ("congestion", "Congestion"),
    ("invalid_number", "Invalid number"),
    ("failed", "Failed"),
    ("abandoned", "Abandoned"),
    ("machine", "Answering machine"),
    ("agent_no_answer", "Agent did not answer"),
    ("trunk_refused", "Refused by the trunk"),
    ("unknown", "Unknown"),
]


class OutboundCall(models.Model):
    _name = "outbound.call"
    _description = "Outbound Call Attempt"
    _order = "start_at desc, id desc"
    _rec_name = "uuid"

    uuid = fields.Char(
        "UUID",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        default=lambda self: str(uuid.uuid4()),
        help="Preassigned to the Asterisk channel (ChannelId): ties AMI events and AstDB rows to the call.",
    )
    campaign_id = fields.Many2one("outbound.campaign", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="campaign_id.company_id", store=True, index=True)
    contact_id = fields.Many2one("outbound.contact", required=True, ondelete="cascade", index=True)
    agent_id = fields.Many2one("outbound.agent", ondelete="set null", index=True)
    attempt_number = fields.Integer(readonly=True)
    phone_e164 = fields.Char("Number dialled", readonly=True)
    state = fields.Selection(
        [
            ("queued", "Queued"),
            ("originating", "Originating"),
            ("ringing", "Ringing"),
            ("answered", "Answered"),
            ("connected", "Connected"),
            ("ended", "Ended"),
        ],
        default="queued",
        required=True,
        index=True,
    )
    dial_mode = fields.Selection(
        [("agent_first", "Agent first"), ("client_first", "Client first")],
        readonly=True,
        help="How the call was dialled: its campaign's type, except a contact reserved for an agent "
        "(a call back, a previewed contact), always called agent first.",
    )
    outcome = fields.Selection(CALL_OUTCOMES, index=True)
    originate_reason = fields.Char(help="Reason of Asterisk's OriginateResponse, as sent.")
    hangup_cause = fields.Char(help="Q.850 hangup cause, as Asterisk sent it.")
    dial_status = fields.Char(help="DIALSTATUS of the dial to the customer, as Asterisk set it.")
    start_at = fields.Datetime("Started", default=fields.Datetime.now, index=True)
    answer_at = fields.Datetime("Answered at")
    connect_at = fields.Datetime("Connected at", help="When the contact and an agent were put together.")
    end_at = fields.Datetime("Ended")
    ring_duration = fields.Integer("Ring time (s)", aggregator="avg")
    wait_duration = fields.Integer("Wait for an agent (s)", aggregator="avg")
    talk_duration = fields.Integer("Talk time (s)", aggregator="sum")
    disposition_id = fields.Many2one("outbound.disposition", index="btree_not_null")
    disposition_at = fields.Datetime("Disposition recorded at")
    note = fields.Text(help="The agent's notes on this call.")

    _sql_constraints = [
        ("uuid_uniq", "UNIQUE(uuid)", "A call UUID must be unique."),
    ]

    def init(self):
        # The dialer's due contacts look up the last abandoned call to each number of the company
        # (no client-first call to it for 72 h): abandons are few, the index is small.
        create_index(
            self.env.cr,
            "outbound_call_abandoned_index",
            self._table,
            ["company_id", "phone_e164", "end_at"],
            where="outcome = 'abandoned'",
        )

import uuid
from zoneinfo import ZoneInfo

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..dialer.schedule import utc

CALL_OUTCOMES = [
    ("answered", "Answered"),
    ("busy", "Busy"),
    ("no_answer", "No answer"),
    ("congestion", "Congestion"),
    ("invalid_number", "Invalid number"),
    ("failed", "Failed"),
    ("abandoned", "Abandoned"),
    ("machine", "Answering machine"),
    ("machine_message_left", "Answering machine, message left"),
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
        default=lambda self: str(uuid.uuid4()),  # indexed by uuid_uniq
        help="Preassigned to the Asterisk channel (ChannelId): ties AMI events and AstDB rows to the call.",
    )
    campaign_id = fields.Many2one("outbound.campaign", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="campaign_id.company_id", store=True, index=True)
    contact_id = fields.Many2one("outbound.contact", required=True, ondelete="cascade", index=True)
    agent_id = fields.Many2one("outbound.agent", ondelete="set null", index=True)
    supervision_ids = fields.One2many("outbound.call.supervision", "call_id", "Listened in by")
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
        # No index of its own: the partial indexes on state serve the calls in flight and the
        # ended ones, and every index is one more write at each of a call's moves.
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
    amd_status = fields.Char(
        "Detection", help="AMDSTATUS of the answering-machine detection (MACHINE, HUMAN, NOTSURE, HANGUP)."
    )
    amd_cause = fields.Char("Detection cause", help="AMDCAUSE: why the detection decided so.")
    start_at = fields.Datetime("Started", default=fields.Datetime.now, index=True)
    # Not stored: the dialer inserts calls in SQL, where no compute runs. Grouping by it is
    # computed in SQL (see _field_to_sql); the web client's date groupings stop at the day.
    start_hour = fields.Integer(
        "Hour of day",
        compute="_compute_start_hour",
        aggregator=None,
        help="The hour the call started, on the campaign's clock.",
    )
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

    @api.depends("start_at", "campaign_id.tz")
    def _compute_start_hour(self):
        for call in self:
            start = utc(call.start_at)
            call.start_hour = (
                start.astimezone(ZoneInfo(call.campaign_id.tz or "UTC")).hour if start else False
            )

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
        # The live dashboard's calls in flight, and the calls ended over a span per campaign (the
        # dialer's pacing counts, the contacts closed lately): the key holds what those read, so
        # that they are read from the index alone.
        create_index(
            self.env.cr,
            "outbound_call_in_flight_index",
            self._table,
            ["campaign_id"],
            where="state <> 'ended'",
        )
        create_index(
            self.env.cr,
            "outbound_call_ended_index",
            self._table,
            ["campaign_id", "end_at", "outcome", "contact_id"],
            where="state = 'ended'",
        )

    def action_listen(self):
        return self._supervise("listen")

    def action_whisper(self):
        return self._supervise("whisper")

    def action_barge(self):
        return self._supervise("barge")

    def _supervise(self, mode):
        """A manager listens in (or whispers, or barges in): logged on the call; the dialer host
        rings the manager's phone (their browser phone, or their own channel) into [oc-supervise]."""
        self.ensure_one()
        if not self.env.user.has_group("outbound_campaign.group_outbound_manager"):
            raise AccessError(self.env._("Only campaign managers may listen in on calls."))
        if self.state not in ("answered", "connected") or not self.agent_id:
            raise UserError(self.env._("This call is not in progress with an agent any more."))
        # sudo: the manager's own phone, found by their user (agents' records are the managers' to
        # read anyway; the channel is not a secret).
        phone = self.env["outbound.agent"].sudo().search([("user_id", "=", self.env.uid)], limit=1)
        if not phone:
            raise UserError(
                self.env._(
                    "You have no phone the dialer can ring: add yourself as an agent (your phone in the "
                    "browser, or your own channel), then listen in again."
                )
            )
        self.env["outbound.call.supervision"].create(
            {
                "call_id": self.id,
                "mode": mode,
                "supervisor_channel": phone.channel,
                "agent_channel": self.agent_id.channel,
            }
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": self.env._("Your phone rings in a moment: answer it to hear the call."),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        if fname == "start_hour":
            start_at = super()._field_to_sql(alias, "start_at", query, flush)
            campaign_tz = SQL(
                "(SELECT COALESCE(tz, 'UTC') FROM outbound_campaign WHERE id = %s)",
                super()._field_to_sql(alias, "campaign_id", query, flush),
            )
            return SQL("date_part('hour', timezone(%s, timezone('UTC', %s)))::int", campaign_tz, start_at)
        return super()._field_to_sql(alias, fname, query, flush)

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.base.models.res_partner import _tz_get

from ..dialer import rules
from ..dialer.outcomes import CampaignType
from ..dialer.pacing import PacingPolicy, PacingStats
from ..dialer.schedule import LEGAL_HOURS, CallingWindow
from ..dialer.views import CampaignView, RetryDelays

CONTACT_STATES_OPEN = ("pending", "in_progress")
#: What the engine reads of a campaign (:meth:`OutboundCampaign._dialer_view`): a running campaign is
#: checked again whenever one of them changes.
DIALER_FIELDS = (
    "state",
    "campaign_type",
    "caller_id_number",
    "caller_id_name",
    "hold_message",
    "abandon_message",
    "dial_timeout",
    "agent_ring_timeout",
    "max_attempts",
    "max_wait",
    "max_dial_ratio",
    "abandon_rate_cap",
    "wrap_up_time",
    "tz",
    "date_start",
    "date_end",
    "use_time_window",
    "time_start",
    "time_end",
    "enforce_legal_hours",
    *rules.WEEKDAY_FIELDS,
)


class OutboundCampaign(models.Model):
    _name = "outbound.campaign"
    _description = "Outbound Call Campaign"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "state_sequence, date_start desc, id desc"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    state = fields.Selection(
        [("draft", "Draft"), ("running", "Running"), ("paused", "Paused"), ("done", "Done")],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    state_sequence = fields.Integer(compute="_compute_state_sequence", store=True)
    campaign_type = fields.Selection(
        [("agent_first", "Call agent first"), ("client_first", "Call client first")],
        default="agent_first",
        required=True,
        tracking=True,
        help="Call agent first: the system calls an agent first and, only once the agent has "
        "answered, calls the client. Prefer it to make sure the client has an agent when they pick up.\n"
        "Call client first: the system calls the client first, then plays a message while searching "
        "for an available agent. Use it only if the called contacts would accept to wait for an agent.",
    )
    date_start = fields.Date(
        "Schedule Start Date",
        tracking=True,
        help="The day the campaign begins. Empty: it can start as soon as it runs.",
    )
    date_end = fields.Date(
        "Schedule End Date",
        tracking=True,
        help="The day the campaign stops. Empty: it runs as long as there are contacts to be called.",
    )
    use_time_window = fields.Boolean(
        "Set start time and end time",
        help="Only call during a period of the day (in the contact's local time when it is known).",
    )
    time_start = fields.Float("Start time", default=9.0)
    time_end = fields.Float("End time", default=18.0)
    mon = fields.Boolean("Monday", default=True)
    tue = fields.Boolean("Tuesday", default=True)
    wed = fields.Boolean("Wednesday", default=True)
    thu = fields.Boolean("Thursday", default=True)
    fri = fields.Boolean("Friday", default=True)
    sat = fields.Boolean("Saturday")
    sun = fields.Boolean("Sunday")
    tz = fields.Selection(
        _tz_get,
        string="Timezone",
        required=True,
        default=lambda self: self.env.user.tz or "UTC",
        help="Used for the calling window of contacts whose own time zone is not known.",
    )
    country_id = fields.Many2one(
        "res.country",
        default=lambda self: self.env.company.country_id,
        help="Country in which national phone numbers of this campaign's contacts are read.",
    )
    dialer_server_id = fields.Many2one(
        "outbound.dialer.server", string="Dialer server", ondelete="restrict", index=True, tracking=True
    )
    agent_ids = fields.Many2many(
        "outbound.agent",
        "outbound_campaign_agent_rel",
        "campaign_id",
        "agent_id",
        string="Agents",
    )
    contact_ids = fields.One2many("outbound.contact", "campaign_id", string="Contacts to be called")
    call_ids = fields.One2many("outbound.call", "campaign_id", string="Calls")
    max_attempts = fields.Integer(default=3, required=True, help="Calls made to a contact before giving up.")
    enforce_legal_hours = fields.Boolean(
        "Legal calling hours only",
        default=True,
        help="Call only between 08:00 and 21:00 in the contact's local time (FTC/FCC rule), "
        "on top of the campaign's own window.",
    )
    agent_ring_timeout = fields.Integer(
        "Agent ring time (s)",
        default=20,
        required=True,
        help="How long an agent's phone rings before the call moves on.",
    )
    dial_timeout = fields.Integer(
        "Dial timeout (s)",
        default=25,
        required=True,
        help="How long a phone rings before the call counts as not answered (at least 15 seconds).",
    )
    retry_delay_busy = fields.Integer("Retry after busy (min)", default=15, required=True)
    retry_delay_no_answer = fields.Integer("Retry after no answer (min)", default=60, required=True)
    retry_delay_failed = fields.Integer(
        "Retry after failure (min)", default=30, required=True, help="After congestion or a network failure."
    )
    caller_id_number = fields.Char("Caller ID number", help="Number shown to the called contacts (E.164).")
    caller_id_name = fields.Char("Caller ID name")
    hold_message = fields.Char(
        default="oc-please-hold",
        help="Asterisk sound played to an answering contact while an agent is found.",
    )
    abandon_message = fields.Char(
        default="oc-safe-harbor",
        help="Asterisk sound played when no agent is found in time: the company's name and a "
        "number to call back, no sales content.",
    )
    max_wait = fields.Integer(
        "Max wait for an agent (s)",
        default=2,
        required=True,
        help="Past this, the contact hears the abandon message and the call counts as abandoned.",
    )
    max_dial_ratio = fields.Float(
        default=2.0, required=True, help="Most calls placed per ready agent while the abandon rate allows it."
    )
    abandon_rate_cap = fields.Float(
        "Abandon rate cap (%)",
        default=3.0,
        required=True,
        help="Abandoned calls as a share of live answers that pacing must never exceed.",
    )
    wrap_up_time = fields.Integer(
        "Wrap-up time (s)",
        default=30,
        required=True,
        help="After a call, the agent has this long to record a disposition; then they are ready again.",
    )
    preview = fields.Boolean(
        help="Call agent first only: the agent sees the next contact first and chooses Call or Skip."
    )
    disposition_ids = fields.Many2many(
        "outbound.disposition",
        string="Dispositions",
        default=lambda self: self.env["outbound.disposition"].search([]),
        help="What agents can record after a call of this campaign.",
    )
    dialing_status = fields.Char(
        readonly=True, copy=False, help="Why the campaign dials or not, as the dialer last decided."
    )
    dialing_status_until = fields.Datetime(
        readonly=True,
        copy=False,
        help="When the dialing status changes by itself: window opening, next contact due.",
    )
    dialing_status_at = fields.Datetime(readonly=True, copy=False)
    dial_ratio = fields.Float(
        readonly=True, copy=False, help="Calls placed per ready agent at the last decision."
    )
    contact_count = fields.Integer(compute="_compute_contact_counters")
    contact_todo_count = fields.Integer("To call", compute="_compute_contact_counters")
    contact_in_progress_count = fields.Integer("In progress", compute="_compute_contact_counters")
    contact_done_count = fields.Integer("Done", compute="_compute_contact_counters")
    contact_failed_count = fields.Integer("Failed", compute="_compute_contact_counters")
    progress = fields.Float(
        compute="_compute_contact_counters", help="Share of contacts no longer to call (%)."
    )
    call_count = fields.Integer(compute="_compute_call_count")
    agent_count = fields.Integer(compute="_compute_agent_count")

    _sql_constraints = [
        ("dial_timeout_min", "CHECK(dial_timeout >= 15)", "The dial timeout must be at least 15 seconds."),
        ("max_attempts_positive", "CHECK(max_attempts >= 1)", "Max attempts must be at least 1."),
        (
            "retry_delays_positive",
            "CHECK(retry_delay_busy >= 0 AND retry_delay_no_answer >= 0 AND retry_delay_failed >= 0)",
            "Retry delays cannot be negative.",
        ),
        (
            "agent_ring_timeout_positive",
            "CHECK(agent_ring_timeout >= 5)",
            "Agents' phones must ring at least 5 seconds.",
        ),
        ("max_wait_positive", "CHECK(max_wait >= 1)", "The max wait for an agent must be at least 1 second."),
        ("max_dial_ratio_min", "CHECK(max_dial_ratio >= 1)", "The max dial ratio must be at least 1."),
        (
            "abandon_rate_cap_range",
            "CHECK(abandon_rate_cap >= 0 AND abandon_rate_cap <= 100)",
            "The abandon rate cap is a percentage between 0 and 100.",
        ),
    ]

    @api.depends("state")
    def _compute_state_sequence(self):
        order = {"running": 0, "paused": 1, "draft": 2, "done": 3}
        for campaign in self:
            campaign.state_sequence = order[campaign.state]

    @api.depends("contact_ids.state")
    def _compute_contact_counters(self):
        counts = {
            campaign.id: dict.fromkeys(("pending", "in_progress", "done", "failed", "total"), 0)
            for campaign in self
        }
        if self.ids:
            groups = self.env["outbound.contact"]._read_group(
                [("campaign_id", "in", self.ids)], ["campaign_id", "state"], ["__count"]
            )
            for campaign, state, count in groups:
                bucket = counts[campaign.id]
                bucket["total"] += count
                if state in bucket:
                    bucket[state] += count
        for campaign in self:
            bucket = counts[campaign.id]
            campaign.contact_count = bucket["total"]
            campaign.contact_todo_count = bucket["pending"]
            campaign.contact_in_progress_count = bucket["in_progress"]
            campaign.contact_done_count = bucket["done"]
            campaign.contact_failed_count = bucket["failed"]
            closed = bucket["total"] - bucket["pending"] - bucket["in_progress"]
            campaign.progress = 100.0 * closed / bucket["total"] if bucket["total"] else 0.0

    @api.depends("call_ids")
    def _compute_call_count(self):
        counts = dict(
            self.env["outbound.call"]._read_group(
                [("campaign_id", "in", self.ids)], ["campaign_id"], ["__count"]
            )
        )
        for campaign in self:
            campaign.call_count = counts.get(campaign, 0)

    @api.depends("agent_ids")
    def _compute_agent_count(self):
        for campaign in self:
            campaign.agent_count = len(campaign.agent_ids)

    @api.constrains("date_start", "date_end")
    def _check_dates(self):
        for campaign in self:
            if campaign.date_start and campaign.date_end and campaign.date_end < campaign.date_start:
                raise ValidationError(
                    self.env._("The end date of campaign %s cannot be before its start date.", campaign.name)
                )

    @api.constrains("use_time_window", "time_start", "time_end")
    def _check_time_window(self):
        for campaign in self.filtered("use_time_window"):
            if not (0 <= campaign.time_start < 24 and 0 < campaign.time_end <= 24):
                raise ValidationError(self.env._("Start and end times must lie between 00:00 and 24:00."))
            if campaign.time_end <= campaign.time_start:
                raise ValidationError(
                    self.env._("The end time of campaign %s must be after its start time.", campaign.name)
                )

    @api.constrains("name")
    def _check_name(self):
        for campaign in self:
            if rules.has_control_characters(campaign.name):
                raise ValidationError(
                    self.env._("A campaign name cannot hold line breaks or other control characters.")
                )

    @api.constrains("caller_id_number", "caller_id_name")
    def _check_caller_id(self):
        for campaign in self:
            if campaign.caller_id_number and not rules.is_e164(campaign.caller_id_number):
                raise ValidationError(
                    self.env._(
                        "The caller ID number %s must be in international E.164 form, e.g. +442079460000.",
                        campaign.caller_id_number,
                    )
                )
            try:
                rules.check_caller_id_name(campaign.caller_id_name or "")
            except rules.RuleError:
                raise ValidationError(
                    self.env._(
                        'The caller ID name %s may hold at most 80 characters, and no quote, "<", ">", '
                        "backslash or control character.",
                        campaign.caller_id_name,
                    )
                ) from None

    def _check_sound_name(self, what, sound):
        """``sound`` (the campaign's ``what``, when set) as the rule wants it, or a ValidationError."""
        if not sound:
            return
        try:
            rules.check_sound_name(what, sound)
        except rules.RuleError:
            raise ValidationError(
                self.env._("%s is not an Asterisk sound name: letters, digits and _ . / - only.", sound)
            ) from None

    @api.constrains("hold_message", "abandon_message")
    def _check_sounds(self):
        for campaign in self:
            for sound in (campaign.hold_message, campaign.abandon_message):
                campaign._check_sound_name("sound", sound)

    @api.constrains(*rules.WEEKDAY_FIELDS)
    def _check_weekdays(self):
        for campaign in self:
            if not rules.weekday_numbers(campaign):
                raise ValidationError(
                    self.env._("Campaign %s must allow calls on at least one weekday.", campaign.name)
                )

    @api.constrains(*DIALER_FIELDS)
    def _check_dialable(self):
        """A running campaign is one the dialer can dial: refuse here, at save or at Run now, what
        the engine would refuse (it would skip the campaign), checked by the engine's own rules."""
        for campaign in self.filtered(lambda campaign: campaign.state == "running"):
            if not campaign.caller_id_number:
                raise ValidationError(
                    self.env._(
                        "Campaign %s is running: it needs a caller ID number (the law requires one).",
                        campaign.name,
                    )
                )
            if campaign.campaign_type == "client_first" and not (
                campaign.hold_message and campaign.abandon_message
            ):
                raise ValidationError(
                    self.env._(
                        "Campaign %s calls the client first and is running: it needs a hold message "
                        "and an abandon message.",
                        campaign.name,
                    )
                )
            try:
                campaign._dialer_view(campaign.dialer_server_id.id).check_dialable()
            except ValueError as error:
                raise ValidationError(
                    self.env._(
                        "Campaign %(name)s is running and the dialer cannot dial it as it is: %(reason)s",
                        name=campaign.name,
                        reason=str(error),
                    )
                ) from None

    @api.constrains("preview", "campaign_type")
    def _check_preview(self):
        # The agent chose to call this very contact: they must be on the line before it rings.
        if any(campaign.preview and campaign.campaign_type != "agent_first" for campaign in self):
            raise ValidationError(self.env._("Preview is for campaigns that call the agent first."))

    def _missing_to_run(self):
        """What stops this campaign from running, as sentences for the manager."""
        self.ensure_one()
        missing = []
        if not self.contact_todo_count:
            missing.append(self.env._("at least one contact to be called"))
        if not self.agent_ids:
            missing.append(self.env._("at least one agent"))
        if not self.dialer_server_id:
            missing.append(self.env._("a dialer server"))
        if not self.caller_id_number:
            missing.append(self.env._("a caller ID number (the law requires one)"))
        if self.date_end and self.date_end < fields.Date.context_today(self):
            missing.append(self.env._("an end date that is not past"))
        return missing

    def action_run_now(self):
        for campaign in self:
            if campaign.state not in ("draft", "paused"):
                raise UserError(
                    self.env._(
                        "Campaign %s is not a draft or paused campaign: it cannot be run.", campaign.name
                    )
                )
            missing = campaign._missing_to_run()
            if missing:
                raise UserError(
                    self.env._(
                        "Campaign %(name)s cannot run yet. It needs:\n- %(missing)s",
                        name=campaign.name,
                        missing="\n- ".join(missing),
                    )
                )
        self.write({"state": "running"})
        return True

    def action_pause(self):
        if any(campaign.state != "running" for campaign in self):
            raise UserError(self.env._("Only running campaigns can be paused."))
        self.write({"state": "paused"})
        return True

    def action_resume(self):
        if any(campaign.state != "paused" for campaign in self):
            raise UserError(self.env._("Only paused campaigns can be resumed."))
        return self.action_run_now()

    def action_done(self):
        self.filtered(lambda campaign: campaign.state != "done").write({"state": "done"})
        return True

    def action_view_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("outbound_campaign.outbound_call_action")
        action["domain"] = [("campaign_id", "=", self.id)]
        action["context"] = {"default_campaign_id": self.id}
        return action

    def action_open_campaign(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def _finished(self):
        """The campaigns of ``self`` past their end date or with nothing left to call."""
        today = fields.Date.context_today(self)
        still_calling = self.env["outbound.contact"]._read_group(
            [("campaign_id", "in", self.ids), ("state", "in", CONTACT_STATES_OPEN)], ["campaign_id"]
        )
        with_contacts_left = self.browse(campaign.id for [campaign] in still_calling)
        return self.filtered(
            lambda campaign: (
                (campaign.date_end and campaign.date_end < today) or campaign not in with_contacts_left
            )
        )

    def _calling_window(self):
        """The campaign's calling window, as the engine reads it (the dashboard's forecast too)."""
        self.ensure_one()
        return CallingWindow(
            tz=self.tz or "UTC",
            date_start=self.date_start or None,
            date_end=self.date_end or None,
            daily_window=self.use_time_window,
            hour_start=self.time_start if self.use_time_window else 0.0,
            hour_end=self.time_end if self.use_time_window else 24.0,
            weekdays=rules.weekday_numbers(self),
            legal_hours=LEGAL_HOURS if self.enforce_legal_hours else None,
        )

    def _dialer_view(self, server_id, stats=None):
        """The engine's view of the campaign: checked at save (so that the model refuses whatever
        the engine would), loaded by the dialer host to dial and to settle calls. ``stats``: its
        pacing counts over the window (``outbound.campaign.counter._pacing_stats``)."""
        self.ensure_one()
        return CampaignView(
            id=self.id,
            type=CampaignType(self.campaign_type),
            server_id=server_id,
            window=self._calling_window(),
            caller_id_number=self.caller_id_number or "",
            caller_id_name=self.caller_id_name or "",
            dial_timeout=self.dial_timeout,
            agent_ring_timeout=self.agent_ring_timeout,
            max_attempts=self.max_attempts,
            retry_delays=RetryDelays(
                busy=timedelta(minutes=self.retry_delay_busy),
                no_answer=timedelta(minutes=self.retry_delay_no_answer),
                failed=timedelta(minutes=self.retry_delay_failed),
            ),
            max_wait=self.max_wait,
            hold_message=self.hold_message or None,
            abandon_message=self.abandon_message or None,
            pacing=PacingPolicy(
                max_ratio=self.max_dial_ratio, abandon_cap=max(self.abandon_rate_cap, 0.01) / 100.0
            ),
            stats=stats or PacingStats(),
            wrap_up_time=max(self.wrap_up_time, 0),
            preview=self.preview,
        )

    @api.model
    def _cron_close_finished_campaigns(self):
        live = self.search([("state", "in", ("running", "paused"))])
        finished = live._finished()
        for campaign in finished:
            campaign.message_post(
                body=self.env._("The campaign has nothing left to call or is past its end date: it is done.")
            )
        finished.action_done()

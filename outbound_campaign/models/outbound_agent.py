import logging
import secrets
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..dialer import browser_phones, rules

_logger = logging.getLogger(__name__)

#: States in which the agent is on a call the dialer placed: their call's result needs them.
ON_A_CALL = ("ringing", "on_call")


class OutboundAgent(models.Model):
    _name = "outbound.agent"
    _description = "Outbound Call Agent"
    _order = "name, id"

    user_id = fields.Many2one("res.users", required=True, ondelete="cascade")  # indexed by user_uniq
    name = fields.Char(related="user_id.name", store=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    phone_kind = fields.Selection(
        [("own", "Own phone"), ("browser", "Phone in the browser")],
        "Phone",
        default="own",
        required=True,
        help="Own phone: a desk phone or softphone Asterisk reaches at the channel below. Phone in the "
        "browser: the agent console is the phone (WebRTC), registered to the phone server's Asterisk.",
    )
    sip_login = fields.Char(
        "SIP login",
        copy=False,
        help="The PJSIP endpoint of the browser phone (pjsip_wizard.conf entry, exported from the "
        "dialer server); the channel is PJSIP/<login>.",
    )
    sip_secret = fields.Char(
        "SIP secret",
        groups="base.group_system",
        copy=False,
        help="The browser phone's SIP password. Only system administrators can read or change it; the "
        "agent's own console receives it to register.",
    )
    phone_server_id = fields.Many2one(
        "outbound.dialer.server",
        "Phone server",
        ondelete="restrict",
        help="The Asterisk the browser phone registers to (its WebSocket URL).",
    )
    channel = fields.Char(
        required=True,
        compute="_compute_channel",
        store=True,
        readonly=False,
        precompute=True,
        help="The agent's phone as Asterisk names it, e.g. PJSIP/1001.",
    )
    state = fields.Selection(
        [
            ("offline", "Offline"),
            ("ready", "Ready"),
            ("paused", "Paused"),
            ("ringing", "Ringing"),
            ("on_call", "On call"),
            ("wrap_up", "Wrap-up"),
        ],
        default="offline",
        required=True,
        # No index: a few hundred rows, read whole; an index is one more write at each change.
    )
    pause_reason_id = fields.Many2one("outbound.pause.reason", ondelete="restrict")
    current_call_id = fields.Many2one("outbound.call", ondelete="set null")
    state_changed_at = fields.Datetime(default=fields.Datetime.now)
    wrap_up_until = fields.Datetime(help="End of the wrap-up after a call: the agent is ready again then.")
    missed_call_count = fields.Integer(
        "Calls missed in a row", default=0, help="Two in a row pause the agent with reason 'No answer'."
    )
    device_state = fields.Char(
        help="The phone's state as Asterisk reports it (NOT_INUSE, INUSE, RINGING, UNAVAILABLE...): "
        "an agent whose phone is busy is offered no call."
    )
    preview_contact_id = fields.Many2one(
        "outbound.contact",
        ondelete="set null",
        help="Preview: the contact shown to the agent, to call or skip.",
    )
    campaign_ids = fields.Many2many(
        "outbound.campaign",
        "outbound_campaign_agent_rel",
        "agent_id",
        "campaign_id",
        string="Campaigns",
    )

    _sql_constraints = [
        ("user_uniq", "UNIQUE(user_id)", "This user already is an agent."),
        ("sip_login_uniq", "UNIQUE(sip_login)", "Another agent already has this SIP login."),
    ]

    @api.depends("phone_kind", "sip_login")
    def _compute_channel(self):
        for agent in self:
            if agent.phone_kind == "browser" and agent.sip_login:
                agent.channel = f"PJSIP/{agent.sip_login}"

    @api.constrains("phone_kind", "sip_login", "phone_server_id", "channel")
    def _check_browser_phone(self):
        for agent in self.filtered(lambda agent: agent.phone_kind == "browser"):
            try:
                channel = browser_phones.browser_channel(agent.sip_login or "")
            except rules.RuleError:
                raise ValidationError(
                    self.env._(
                        "%(agent)s: the SIP login %(login)r cannot be used: a letter or digit, then "
                        "letters, digits and . _ - only (40 at most), e.g. 1001 or agent.smith.",
                        agent=agent.display_name,
                        login=agent.sip_login or "",
                    )
                ) from None
            if agent.channel != channel:
                raise ValidationError(
                    self.env._(
                        "%(agent)s has a phone in the browser: their channel is %(channel)s.",
                        agent=agent.display_name,
                        channel=channel,
                    )
                )
            if not agent.phone_server_id:
                raise ValidationError(
                    self.env._(
                        "%s has a phone in the browser: choose the phone server it registers to.",
                        agent.display_name,
                    )
                )

    @api.constrains("channel")
    def _check_channel(self):
        for agent in self:
            # The Originate's Channel header: the dial-string rule, as for a customer's.
            try:
                rules.check_dial_string("Channel", agent.channel)
            except rules.RuleError:
                raise ValidationError(
                    self.env._(
                        "%r is not an Asterisk channel: write it as TECHNOLOGY/resource, "
                        "e.g. PJSIP/1001 (letters, digits and + / @ . _ : - only).",
                        agent.channel,
                    )
                ) from None

    @api.model_create_multi
    def create(self, vals_list):
        agents = super().create(vals_list)
        agents._give_browser_phones_a_secret()
        return agents

    def write(self, vals):
        if "active" in vals and not vals["active"]:
            self._refuse_if_on_a_call()
        result = super().write(vals)
        if vals.get("phone_kind") == "browser":
            self._give_browser_phones_a_secret()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_on_a_call(self):
        self._refuse_if_on_a_call()

    def _give_browser_phones_a_secret(self):
        """A browser phone needs a SIP secret nobody has to invent: a random one, readable by
        system administrators (the export) and by the agent's own console."""
        for agent in self.sudo().filtered(
            lambda agent: agent.phone_kind == "browser" and not agent.sip_secret
        ):
            agent.sip_secret = secrets.token_urlsafe(24)

    def _refuse_if_on_a_call(self):
        busy = self.filtered(lambda agent: agent.state in ON_A_CALL)
        if busy:
            raise UserError(
                self.env._(
                    "%s is on a call: an agent can be deleted or archived only once their call has "
                    "ended. Try again in a moment.",
                    ", ".join(busy.mapped("display_name")),
                )
            )

    # The browser phone: what the agent's own console needs to register, and the pause when the
    # phone cannot take calls (microphone refused, WebSocket lost).

    @api.model
    def get_browser_phone(self):
        """The current user's browser phone: WebSocket URL, SIP domain, login and secret; False
        for an agent with their own phone (or no agent)."""
        # sudo: the current user's own agent, found by its user; the secret is theirs to register.
        agent = self.sudo().search([("user_id", "=", self.env.uid), ("phone_kind", "=", "browser")], limit=1)
        if not agent or not agent.phone_server_id.websocket_url:
            return False
        url = agent.phone_server_id.websocket_url
        return {
            "websocket_url": url,
            "domain": urlsplit(url).hostname,
            "login": agent.sip_login,
            "secret": agent.sip_secret,
        }

    @api.model
    def action_phone_unavailable(self, problem=""):
        """The console's phone cannot take calls: the agent is paused (reason "Phone unavailable"),
        so the dialer offers them none. An agent on a call stays on it: the call's end settles it."""
        agent = self.search([("user_id", "=", self.env.uid)], limit=1)
        if not agent:
            return False
        agent = agent._console_lock()
        if agent.state in ("ringing", "on_call", "paused", "offline"):
            return False
        _logger.info("Agent %s paused: their browser phone is unavailable (%s)", agent.name, problem)
        agent._preview_release()
        agent.write(
            {
                "state": "paused",
                "pause_reason_id": self.env.ref("outbound_campaign.pause_reason_phone_unavailable").id,
                "state_changed_at": fields.Datetime.now(),
                "wrap_up_until": False,
            }
        )
        agent._console_notify()
        return True

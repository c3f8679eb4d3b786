from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..dialer import rules

#: States in which the agent is on a call the dialer placed: their call's result needs them.
ON_A_CALL = ("ringing", "on_call")


class OutboundAgent(models.Model):
    _name = "outbound.agent"
    _description = "Outbound Call Agent"
    _order = "name, id"

    user_id = fields.Many2one("res.users", required=True, ondelete="cascade", index=True)
    name = fields.Char(related="user_id.name", store=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    channel = fields.Char(required=True, help="The agent's phone as Asterisk names it, e.g. PJSIP/1001.")
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
        index=True,
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
    ]

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

    def write(self, vals):
        if "active" in vals and not vals["active"]:
            self._refuse_if_on_a_call()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_on_a_call(self):
        self._refuse_if_on_a_call()

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

import re

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..dialer import browser_phones, rules
from ..host.burst import dial_burst

AMI_TOKEN = re.compile(r"^[A-Za-z0-9._@-]+$")
#: Where browser phones reach Asterisk's WebSocket (http.conf's port, path /ws).
WEBSOCKET_URL = re.compile(r"^wss?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9._/-]*$")


class OutboundDialerServer(models.Model):
    _name = "outbound.dialer.server"
    _description = "Dialer Server (Asterisk AMI)"
    _order = "name, id"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        default=lambda self: self.env.company,
        help="Leave empty to share this server between companies.",
    )
    host = fields.Char(required=True, default="127.0.0.1", help="Asterisk host name or address.")
    port = fields.Integer(required=True, default=5038, help="AMI port (manager.conf, [general] port).")
    username = fields.Char(required=True, help="The manager.conf user of the dialer.")
    secret = fields.Char(
        groups="base.group_system",
        copy=False,
        help="The manager.conf secret of that user. Only system administrators can read or change it.",
    )
    customer_dial_template = fields.Char(
        required=True,
        default="PJSIP/{number}@trunk",
        help="Channel used to reach a customer. Placeholders: {number} (E.164 with +), "
        "{digits} (E.164 without +), {national} (the number as dialled in its own country).",
    )
    max_channels = fields.Integer(
        default=30, required=True, help="Most calls this server may carry at once for the dialer."
    )
    max_calls_per_second = fields.Float(
        default=10.0, required=True, help="Most new calls the dialer may start in one second."
    )
    connection_state = fields.Selection(
        [
            ("disconnected", "Disconnected"),
            ("connecting", "Connecting"),
            ("connected", "Connected"),
            ("error", "Error"),
        ],
        default="disconnected",
        required=True,
        readonly=True,
        copy=False,
    )
    connection_error = fields.Char(readonly=True, copy=False)
    last_heartbeat = fields.Datetime(
        readonly=True, copy=False, help="Last time the dialer host reached the server."
    )
    holder = fields.Char(
        readonly=True,
        copy=False,
        help="The dialer host that dials for this server now (process and machine).",
    )
    lease_until = fields.Datetime(
        readonly=True,
        copy=False,
        help="The holder must renew its hold before this time, or another host takes over.",
    )
    # Recordings (issue 11): where the dialer host reads the files oc-record writes.
    recordings_directory = fields.Char(
        help="Asterisk's monitor folder (astspooldir/monitor, e.g. /var/spool/asterisk/monitor) as "
        "the dialer host sees it: the same path on the same machine, or where it is mounted.",
    )
    campaign_ids = fields.One2many("outbound.campaign", "dialer_server_id")
    websocket_url = fields.Char(
        "Browser phones' WebSocket",
        help="Where the agents' browser phones register: Asterisk's http.conf server, path /ws, e.g. "
        "wss://pbx.example.com:8089/ws (ws:// only for a test on this machine).",
    )

    _sql_constraints = [
        ("port_range", "CHECK(port > 0 AND port < 65536)", "The AMI port must be between 1 and 65535."),
        ("max_channels_positive", "CHECK(max_channels > 0)", "Max channels must be at least 1."),
        (
            "max_calls_per_second_positive",
            "CHECK(max_calls_per_second > 0)",
            "Max calls per second must be greater than 0.",
        ),
    ]

    @api.model
    def _cron_dial(self, burst_seconds=50):
        """The zero-setup host: dial for a bounded burst, standing aside where a dedicated
        ``odoo-bin outbound_dialer`` process holds the server."""
        servers = self.search([("campaign_ids.state", "=", "running")])
        if servers:
            dial_burst(self.env.registry, servers.ids, burst_seconds)

    @api.constrains("customer_dial_template")
    def _check_customer_dial_template(self):
        # The template is expanded with the contact's number and dialled as it is by the shipped
        # dialplan, which refuses (never rewrites) a dial string outside the same rule.
        for server in self:
            template = server.customer_dial_template
            try:
                rules.check_dial_template(template)
            except rules.RuleError as error:
                if error.fault == "character":
                    reason = self.env._(
                        "the character %r cannot be dialled as it is (it could add a destination or a "
                        "Dial() option, or is read as dialplan syntax)",
                        error.culprit,
                    )
                elif error.fault == "placeholder":
                    reason = self.env._("%s is not a placeholder", error.culprit)
                elif error.fault == "no_placeholder":
                    reason = self.env._("it holds no placeholder, so every contact would dial the same")
                else:
                    reason = self.env._("a dial string is a technology, a slash, then what to dial")
                raise ValidationError(
                    self.env._(
                        "The dial template %(template)s cannot be used: %(reason)s. Use {number}, {digits} "
                        "or {national} and, around them, letters, digits and + / @ . _ : - only, e.g. "
                        "%(examples)s.",
                        template=template,
                        reason=reason,
                        examples=rules.DIAL_TEMPLATE_EXAMPLES,
                    )
                ) from None

    @api.constrains("host", "username")
    def _check_ami_tokens(self):
        for server in self:
            for label, value in (
                (self.env._("Host"), server.host),
                (self.env._("Username"), server.username),
            ):
                if not AMI_TOKEN.match(value or ""):
                    raise ValidationError(
                        self.env._(
                            "%(field)s %(value)r may only hold letters, digits and . _ @ -",
                            field=label,
                            value=value,
                        )
                    )

    @api.constrains("websocket_url")
    def _check_websocket_url(self):
        for server in self.filtered("websocket_url"):
            if not WEBSOCKET_URL.match(server.websocket_url):
                raise ValidationError(
                    self.env._(
                        "%r is not a WebSocket URL: write it as wss://host:port/ws, e.g. "
                        "wss://pbx.example.com:8089/ws.",
                        server.websocket_url,
                    )
                )

    def write(self, vals):
        self._refuse_connection_change(vals)
        return super().write(vals)

    def _refuse_connection_change(self, vals):
        """Host, port and user decide where the dialer sends the AMI secret: only system
        administrators may change them (managers still read them and change the rest)."""
        if self.env.su or self.env.user.has_group("base.group_system"):
            return
        changed = [
            name
            for name in ("host", "port", "username")
            if name in vals and any(server[name] != vals[name] for server in self)
        ]
        if changed:
            raise AccessError(
                self.env._(
                    "Only system administrators may change the host, port or user of a dialer server: "
                    "the dialer sends the AMI secret there."
                )
            )

    def action_export_browser_phones(self):
        """The pjsip_wizard.conf entries of this server's browser agents, as a file to download
        (it holds their SIP secrets: system administrators only)."""
        self.ensure_one()
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(
                self.env._("Only system administrators may export the browser phones' secrets.")
            )
        agents = self.env["outbound.agent"].search(
            [("phone_server_id", "=", self.id), ("phone_kind", "=", "browser")], order="sip_login"
        )
        if not agents:
            raise UserError(self.env._("No agent has a phone in the browser on %s.", self.display_name))
        text = browser_phones.wizard_entries((agent.sip_login, agent.sip_secret) for agent in agents)
        attachment = self.env["ir.attachment"].create(
            {
                "name": "pjsip_wizard_agents.conf",
                "raw": text.encode(),
                "mimetype": "text/plain",
                "res_model": self._name,
                "res_id": self.id,
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "self",
        }

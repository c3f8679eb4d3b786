from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL
from odoo.tools.sql import create_index

from odoo.addons.base.models.res_partner import _tz_get

from ..dialer import rules
from ..dialer.schedule import is_zone
from ..importer.phones import to_e164

# Names and numbers end up in AMI headers, CSV exports and the agent's screen: control characters
# (CR, LF, NUL, ...) have no business in any of them.
TEXT_FIELDS = ("firstname", "lastname", "enterprise", "phone", "address")

#: The unique index enrolling a record once in a campaign (the list refresh's ON CONFLICT).
LIST_RECORD_INDEX = "outbound_contact_list_record_uniq"


class OutboundContact(models.Model):
    _name = "outbound.contact"
    _description = "Contact to be Called"
    # The phone mixin: phone_sanitized (the E.164 number, written by the import itself) and whether
    # it is on Odoo's phone blacklist, as every mail.thread.phone model of Odoo.
    _inherit = ["mail.thread.phone", "mail.activity.mixin"]
    _order = "campaign_id, id"

    # Indexed by outbound_contact_campaign_state_index (campaign_id, state).
    campaign_id = fields.Many2one("outbound.campaign", required=True, ondelete="cascade")
    company_id = fields.Many2one(related="campaign_id.company_id", store=True, index=True)
    firstname = fields.Char()
    lastname = fields.Char()
    enterprise = fields.Char()
    phone = fields.Char(required=True, help="The number as it was given.")
    phone_e164 = fields.Char(
        "Phone (E.164)",
        compute="_compute_phone_e164",
        store=True,
        readonly=False,
        index=True,
        help="The number in international E.164 form, as it is dialled and compared for duplicates.",
    )
    address = fields.Char()
    extra_data = fields.Json(help="Imported columns not mapped to a field, shown to the agent.")
    partner_id = fields.Many2one("res.partner", ondelete="set null", index="btree_not_null")
    list_model = fields.Char(
        "Listed from",
        readonly=True,
        copy=False,
        help="The model of the record this contact was enrolled from by a filter.",
    )
    list_res_id = fields.Many2oneReference(
        "Listed record", model_field="list_model", readonly=True, copy=False, help="Empty: imported or typed."
    )
    tz = fields.Selection(
        _tz_get, string="Timezone", help="Empty: derived from the number, else the campaign's."
    )
    state = fields.Selection(
        [
            ("pending", "To call"),
            ("in_progress", "In progress"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("dnc", "Do not call"),
            ("cancelled", "Cancelled"),
        ],
        default="pending",
        required=True,
        # No index of its own: outbound_contact_campaign_state_index and the due index serve every
        # lookup by state, and each contact inserted or changing state would maintain one more.
    )
    attempt_count = fields.Integer("Attempts", default=0, readonly=True)
    next_attempt_at = fields.Datetime("Next attempt", help="Empty: as soon as possible.")
    last_outcome = fields.Selection(selection="_selection_outcome", readonly=True)
    call_ids = fields.One2many("outbound.call", "contact_id", string="Calls")
    assigned_agent_id = fields.Many2one(
        "outbound.agent",
        string="Reserved for",
        ondelete="set null",
        index="btree_not_null",
        help="A call back or a previewed contact: dialled only with this agent, agent first.",
    )
    disposition_id = fields.Many2one("outbound.disposition", string="Last disposition", readonly=True)

    _sql_constraints = [
        ("attempt_count_positive", "CHECK(attempt_count >= 0)", "Attempts cannot be negative."),
    ]

    def init(self):
        # No super(): mail.thread.phone's init would add two expression indexes on the number that
        # only its phone_mobile_search uses, and every import's COPY would maintain them.
        # The dialer's hot path: "next due pending contact of campaign X", ordered by due time.
        create_index(
            self.env.cr,
            "outbound_contact_due_index",
            self._table,
            ["campaign_id", "next_attempt_at NULLS FIRST", "id"],
            where="state = 'pending'",
        )
        # A campaign's contacts counted by state (its counters on the form, whether it has any
        # left to call): from this index alone (a few MB for a million contacts), not from the
        # wide contact rows.
        create_index(
            self.env.cr, "outbound_contact_campaign_state_index", self._table, ["campaign_id", "state"]
        )
        # A record is enrolled once in a campaign. Partial: the contacts of no list (imported or
        # typed) are left out of it rather than each adding an entry of NULLs to maintain.
        self.env.cr.execute(
            SQL(
                """CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (campaign_id, list_model, list_res_id)
                   WHERE list_model IS NOT NULL""",
                SQL.identifier(LIST_RECORD_INDEX),
                SQL.identifier(self._table),
            )
        )

    @api.model
    def _selection_outcome(self):
        return self.env["outbound.call"]._fields["outcome"].selection

    @api.depends("phone", "campaign_id.country_id")
    def _compute_phone_e164(self):
        for contact in self:
            contact.phone_e164 = contact._phone_to_e164(contact.phone) if contact.phone else False

    @api.depends("phone_e164")
    def _compute_phone_sanitized(self):
        # The number as the contact is dialled: one normalisation, the campaign's (to_e164).
        for contact in self:
            contact.phone_sanitized = contact.phone_e164

    def _phone_get_number_fields(self):
        return ["phone_e164"]

    @api.depends("firstname", "lastname", "phone")
    def _compute_display_name(self):
        for contact in self:
            name = " ".join(part for part in (contact.firstname, contact.lastname) if part)
            contact.display_name = name or contact.phone or self.env._("New contact")

    def _phone_to_e164(self, number):
        """The number in E.164, national numbers being read in the campaign's country; False if invalid."""
        country = self.campaign_id.country_id or self.env.company.country_id
        return to_e164(number, country.code)[0] or False

    @api.constrains("phone", "phone_e164")
    def _check_phone(self):
        for contact in self:
            if not rules.is_e164(contact.phone_e164):
                raise ValidationError(
                    self.env._(
                        "%(phone)s is not a valid phone number for %(country)s.",
                        phone=contact.phone,
                        country=(contact.campaign_id.country_id or self.env.company.country_id).name
                        or self.env._("any country"),
                    )
                )

    @api.constrains("tz")
    def _check_tz(self):
        # The selection offers the tz database's zones, but RPC and imports can store any text.
        for contact in self:
            if contact.tz and not is_zone(contact.tz):
                raise ValidationError(
                    self.env._(
                        "%(tz)s is not a known time zone: give one of the time zone database, "
                        "e.g. America/Los_Angeles, or leave it empty.",
                        tz=contact.tz,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_no_control_characters(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_no_control_characters(vals)
        return super().write(vals)

    def _check_no_control_characters(self, vals):
        # Checked on the values, before SQL: PostgreSQL itself rejects a NUL with a cryptic error.
        for field_name in TEXT_FIELDS:
            if isinstance(vals.get(field_name), str) and rules.has_control_characters(vals[field_name]):
                raise ValidationError(
                    self.env._(
                        "%(field)s %(value)r holds a control character (line break, NUL): "
                        "it cannot be stored or dialled.",
                        field=self._fields[field_name].string,
                        value=vals[field_name],
                    )
                )

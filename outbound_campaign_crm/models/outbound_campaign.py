from odoo import api, fields, models
from odoo.tools import SQL


class OutboundCampaign(models.Model):
    _inherit = "outbound.campaign"

    crm_team_id = fields.Many2one(
        "crm.team",
        string="Sales team",
        ondelete="set null",
        help="The team of the opportunities this campaign's calls create. Empty: the agent's team.",
    )
    source_id = fields.Many2one(
        "utm.source",
        string="UTM source",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The source of the opportunities this campaign's calls create, named after the campaign.",
    )
    opportunity_count = fields.Integer("Opportunities", compute="_compute_pipeline")
    opportunity_won_count = fields.Integer("Won", compute="_compute_pipeline")
    expected_revenue = fields.Monetary(compute="_compute_pipeline", currency_field="company_currency_id")
    company_currency_id = fields.Many2one(related="company_id.currency_id")

    @api.model_create_multi
    def create(self, vals_list):
        campaigns = super().create(vals_list)
        campaigns.filtered(lambda campaign: not campaign.source_id)._create_sources()
        return campaigns

    def _create_sources(self):
        """A UTM source per campaign, named after it (with a number when the name is taken)."""
        names = self.env["utm.mixin"]._get_unique_names("utm.source", self.mapped("name"))
        sources = self.env["utm.source"].sudo().create([{"name": name} for name in names])
        for campaign, source in zip(self, sources, strict=True):
            campaign.source_id = source

    def write(self, vals):
        result = super().write(vals)
        if vals.get("name"):
            for campaign in self.filtered("source_id"):
                name = (
                    self.env["utm.mixin"]
                    .with_context(utm_check_skip_record_ids=campaign.source_id.ids)
                    ._get_unique_names("utm.source", [campaign.name])[0]
                )
                campaign.source_id.sudo().name = name
        return result

    @api.depends("source_id")
    def _compute_pipeline(self):
        """The opportunities of the campaigns' sources, won and lost included, in one grouped query."""
        groups = (
            self.env["crm.lead"]
            .with_context(active_test=False)
            ._read_group(
                [("source_id", "in", self.source_id.ids), ("type", "=", "opportunity")],
                ["source_id", "stage_id", "active"],
                ["__count", "expected_revenue:sum"],
            )
        )
        totals = {}
        for source, stage, active, count, revenue in groups:
            total = totals.setdefault(source, {"count": 0, "won": 0, "revenue": 0.0})
            total["count"] += count
            if active:
                total["revenue"] += revenue
                total["won"] += count if stage.is_won else 0
        for campaign in self:
            total = totals.get(campaign.source_id, {"count": 0, "won": 0, "revenue": 0.0})
            campaign.opportunity_count = total["count"]
            campaign.opportunity_won_count = total["won"]
            campaign.expected_revenue = total["revenue"]

    def action_view_opportunities(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crm.crm_lead_opportunities")
        action["domain"] = [("source_id", "=", self.source_id.id), ("type", "=", "opportunity")]
        action["context"] = {"active_test": False, "default_source_id": self.source_id.id}
        return action

    def _refresh_list(self):
        """Contacts enrolled from leads are those leads' contacts: their dispositions update them."""
        results = super()._refresh_list()
        from_leads = self.filtered(lambda campaign: campaign.list_model == "crm.lead")
        if not from_leads:
            return results
        self.env["outbound.contact"].flush_model(["lead_id"])
        self.env.cr.execute(
            SQL(
                """UPDATE outbound_contact c SET lead_id = c.list_res_id
                    WHERE c.campaign_id IN %s AND c.list_model = 'crm.lead' AND c.lead_id IS NULL
                      AND EXISTS (SELECT 1 FROM crm_lead l WHERE l.id = c.list_res_id)""",
                tuple(from_leads.ids),
            )
        )
        self.env["outbound.contact"].invalidate_model(["lead_id"])
        return results

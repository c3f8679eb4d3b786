import ast
import logging

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import live
from ..importer import live_list

_logger = logging.getLogger(__name__)


# A feature of its own, on the campaign (docs/architecture.md, "Files of models/").
class OutboundCampaign(models.Model):
    """A campaign's contacts from a filter on partners or leads, beside or instead of a file."""

    _inherit = "outbound.campaign"  # pylint: disable=consider-merging-classes-inherited

    list_model = fields.Selection(
        selection="_selection_list_model",
        string="List from",
        help="Enrol the records of this model that match the filter. Empty: contacts come from files only.",
    )
    list_domain = fields.Char("Filter", default="[]")
    list_phone_field = fields.Selection(
        [("phone", "Phone"), ("mobile", "Mobile")],
        string="Number dialled",
        default="phone",
        required=True,
        help="The record's number the contact is called on.",
    )
    list_live = fields.Boolean(
        "Live list",
        help="Refreshed every few minutes and at Run now: records that start matching are enrolled, "
        "records that stop matching are withdrawn if they were not called yet.",
    )
    list_refreshed_at = fields.Datetime("List refreshed at", readonly=True, copy=False)
    contact_source = fields.Selection(
        [("file", "File"), ("filter", "Filter"), ("both", "File and filter")],
        string="Contacts from",
        compute="_compute_contact_source",
    )

    @api.model
    def _selection_list_model(self):
        # Leads only where the CRM is installed.
        names = [name for name in live_list.SOURCES if name in self.env]
        return [
            (model.model, model.name)
            for model in self.env["ir.model"].sudo().search([("model", "in", names)])
        ]

    @api.depends("list_model")
    def _compute_contact_source(self):
        with_file = self.env["outbound.contact"]._read_group(
            [("campaign_id", "in", self.ids), ("list_model", "=", False)], ["campaign_id"]
        )
        campaigns_with_file = {campaign for [campaign] in with_file}
        for campaign in self:
            if not campaign.list_model:
                campaign.contact_source = "file"
            elif campaign._origin in campaigns_with_file:
                campaign.contact_source = "both"
            else:
                campaign.contact_source = "filter"

    @api.constrains("list_model", "list_domain")
    def _check_list_domain(self):
        for campaign in self.filtered("list_model"):
            try:
                live_list.matching_query(self.env, campaign, campaign._list_domain())
            except (ValueError, SyntaxError, KeyError, TypeError) as error:
                raise ValidationError(
                    self.env._(
                        "The filter of campaign %(name)s is not valid: %(error)s",
                        name=campaign.name,
                        error=error,
                    )
                ) from error

    def _list_domain(self):
        """The filter as a domain (a literal, as the domain editor writes it)."""
        self.ensure_one()
        domain = ast.literal_eval(self.list_domain or "[]")
        if not isinstance(domain, list):
            raise ValueError(self.env._("a filter is a list of conditions"))
        return domain

    def action_run_now(self):
        # The list is brought up to date before the campaign is checked for contacts to call.
        self.filtered(
            lambda campaign: campaign.list_model and campaign.state in ("draft", "paused")
        )._refresh_list()
        return super().action_run_now()

    def action_refresh_list(self):
        self.ensure_one()
        if not self.list_model:
            raise UserError(self.env._("Choose the model the list is made from first."))
        result = self._refresh_list()[self.id]
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._(
                    "%(enrolled)s contacts enrolled, %(withdrawn)s withdrawn, %(invalid)s numbers not valid.",
                    enrolled=result.enrolled,
                    withdrawn=result.withdrawn,
                    invalid=result.invalid,
                ),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _refresh_list(self):
        """Refresh the lists of these campaigns; ``{campaign id: live_list.ListRefresh}``."""
        results = {}
        for campaign in self:
            results[campaign.id] = live_list.refresh(self.env, campaign, campaign._list_domain())
            campaign.list_refreshed_at = fields.Datetime.now()
        live.notify_dashboard(self.env, self.ids)
        return results

    @api.model
    def _cron_refresh_live_lists(self):
        campaigns = self.search(
            [("list_live", "=", True), ("list_model", "!=", False), ("state", "in", ("running", "paused"))]
        )
        for campaign in campaigns:
            # One campaign's broken filter or a lock it waited too long for spoils only its own refresh.
            try:
                with self.env.cr.savepoint():
                    campaign._refresh_list()
            except (UserError, ValueError, SyntaxError, psycopg2.Error):
                _logger.exception("Live list of campaign %s not refreshed", campaign.id)

"""A disposition's effect in the CRM, after its effect on the campaign: the contact's lead made an
opportunity of the agent, a call back activity on it, or the lead marked lost."""

import pytz

from odoo import models
from odoo.exceptions import UserError
from odoo.tools import plaintext2html


class OutboundAgent(models.Model):
    _inherit = "outbound.agent"

    def _apply_disposition(self, call, disposition, note, callback_at):
        if disposition.crm_action == "activity" and not callback_at:
            raise UserError(self.env._("Call back: choose a date and time in the future."))
        result = super()._apply_disposition(call, disposition, note, callback_at)
        contact = call.contact_id
        if disposition.crm_action == "opportunity":
            self._crm_opportunity(contact, disposition, note)
        elif disposition.crm_action == "activity":
            self._crm_call_back(contact, callback_at, note)
        elif disposition.crm_action == "lost" and contact.lead_id:
            self._crm_lost(contact.lead_id, disposition, note)
        return result

    def _crm_opportunity(self, contact, disposition, note):
        """The contact's lead, made an opportunity of the agent in the campaign's team; created when the
        contact has none."""
        campaign = contact.campaign_id
        lead = contact.lead_id
        team = campaign.crm_team_id or self.env["crm.team"]._get_default_team_id(user_id=self.user_id.id)
        stage = disposition.crm_stage_id or lead._stage_find(team_id=team.id, domain=[("fold", "=", False)])
        values = {
            "type": "opportunity",
            "user_id": self.user_id.id,
            "team_id": team.id,
            "stage_id": stage.id,
        }
        description = plaintext2html(note) if note else False
        if lead:
            if description:
                values["description"] = (lead.description or "") + description
            if not lead.source_id:
                values["source_id"] = campaign.source_id.id
            if not lead.active:
                values.update(active=True, lost_reason_id=False)
            lead.write(values)
            return lead
        return self._crm_new_lead(contact, dict(values, description=description))

    def _crm_new_lead(self, contact, values):
        """A lead of the agent for the contact, from the campaign's source, linked to the contact."""
        campaign = contact.campaign_id
        lead = self.env["crm.lead"].create(
            {
                "name": self.env._(
                    "%(contact)s, %(campaign)s", contact=contact.display_name, campaign=campaign.name
                ),
                "user_id": self.user_id.id,
                "partner_id": contact.partner_id.id,
                "contact_name": " ".join(filter(None, (contact.firstname, contact.lastname))),
                "partner_name": contact.enterprise,
                "phone": contact.phone_e164,
                "source_id": campaign.source_id.id,
                "company_id": campaign.company_id.id,
                **values,
            }
        )
        contact.lead_id = lead
        return lead

    def _crm_call_back(self, contact, callback_at, note):
        """A call activity for the agent on the contact's lead, which is created when there is none."""
        lead = contact.lead_id
        if not lead:
            lead = self._crm_new_lead(
                contact, {"type": "lead", "team_id": contact.campaign_id.crm_team_id.id}
            )
        local = pytz.utc.localize(callback_at).astimezone(pytz.timezone(self.user_id.tz or "UTC"))
        lead.activity_schedule(
            "mail.mail_activity_data_call",
            date_deadline=local.date(),
            summary=self.env._("Call back at %s", local.strftime("%H:%M")),
            note=plaintext2html(note) if note else "",
            user_id=self.user_id.id,
        )

    def _crm_lost(self, lead, disposition, note):
        lead.action_set_lost(lost_reason_id=disposition.crm_lost_reason_id.id)
        if note:
            lead.message_post(body=plaintext2html(note), subtype_xmlid="mail.mt_note")

    def _console_contact_data(self, contact, exclude_call=None):
        data = super()._console_contact_data(contact, exclude_call=exclude_call)
        lead = contact.sudo().lead_id
        data["lead"] = lead and {"id": lead.id, "name": lead.name, "stage": lead.stage_id.name or ""}
        return data

"""The agent console's server side, added to ``outbound.agent``: what the agent's browser reads
(the screen-pop, the preview) and what it does (ready, pause, dispositions, call backs)."""

from datetime import timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .. import live

# What the pop shows of a contact: every field the import can map, in this order.
POP_FIELDS = ("firstname", "lastname", "enterprise", "phone", "phone_e164", "address", "tz")
# Earlier attempts shown in the pop: plenty for any sane max_attempts, bounded for a pathological one.
POP_ATTEMPTS_LIMIT = 50
POP_NOTES_LIMIT = 20


class OutboundAgent(models.Model):
    """Agents have read-only access to agents, contacts and calls: each action checks that the agent
    record is the current user's own, then writes the fields it needs with ``sudo()``.
    """

    _inherit = "outbound.agent"

    @api.model
    def get_console_data(self):
        """Everything the console shows for the current user's agent record."""
        agent = self.search([("user_id", "=", self.env.uid)], limit=1)
        if not agent:
            return {"agent_id": False}
        # sudo: the current user's own agent record, found by its user; its call may have been
        # placed before the agent was on it (client first) and its preview is theirs.
        agent = agent.sudo()
        call = agent._console_call()
        now = fields.Datetime.now()
        wrap_up_left = 0
        if agent.state == "wrap_up" and agent.wrap_up_until:
            wrap_up_left = max(0, int((agent.wrap_up_until - now).total_seconds()))
        reasons = self.env["outbound.pause.reason"].search([("is_system", "=", False)])
        return {
            "agent_id": agent.id,
            "name": agent.name,
            "state": agent.state,
            "state_label": dict(agent._fields["state"]._description_selection(self.env))[agent.state],
            "pause_reason": agent.pause_reason_id.name or False,
            "pause_reasons": [{"id": reason.id, "name": reason.name} for reason in reasons],
            "wrap_up_seconds_left": wrap_up_left,
            "call": agent._console_call_data(call) if call else False,
            "preview": agent._console_preview_data(),
            "has_preview_campaigns": bool(agent._preview_campaigns()),
            "browser_phone": agent.phone_kind == "browser",
        }

    # Actions from the console
    def action_ready(self):
        self.ensure_one()
        agent = self._console_lock()
        if agent.state in ("ringing", "on_call"):
            raise UserError(self.env._("You are on a call: you will be ready again after it."))
        agent._console_set_ready()
        agent._preview_reserve()
        agent._console_notify()
        return True

    def action_pause(self, reason_id):
        self.ensure_one()
        agent = self._console_lock()
        reason = self.env["outbound.pause.reason"].browse(int(reason_id)).exists()
        if not reason or reason.is_system or not reason.active:
            raise UserError(self.env._("Choose one of the pause reasons offered."))
        if agent.state in ("ringing", "on_call"):
            raise UserError(self.env._("You are on a call: pause once it has ended."))
        agent._preview_release()
        agent.write(
            {
                "state": "paused",
                "pause_reason_id": reason.id,
                "state_changed_at": fields.Datetime.now(),
                "wrap_up_until": False,
            }
        )
        agent._console_notify()
        return True

    def record_disposition(self, call_id, disposition_id, note=None, callback_at=None):
        """Record the outcome the agent chose for their call, and its effect on the contact."""
        self.ensure_one()
        agent = self._console_lock()
        call = self.env["outbound.call"].sudo().browse(int(call_id)).exists()
        if not call or call.agent_id != agent or call not in (agent.current_call_id | agent._last_call()):
            raise AccessError(self.env._("You can only record a disposition for your own last call."))
        if call.state != "ended":
            raise UserError(self.env._("Record the disposition once the call has ended."))
        if call.disposition_id:
            raise UserError(self.env._("A disposition is already recorded for this call."))
        disposition = call.campaign_id.disposition_ids.filtered(lambda d: d.id == int(disposition_id))
        if not disposition:
            raise UserError(self.env._("This disposition is not one of campaign %s.", call.campaign_id.name))
        now = fields.Datetime.now()
        callback_at = fields.Datetime.to_datetime(callback_at) if callback_at else None
        if disposition.action == "callback" and (not callback_at or callback_at <= now):
            raise UserError(self.env._("Call back: choose a date and time in the future."))
        agent._apply_disposition(call, disposition, note, callback_at)
        if agent.state == "wrap_up":
            agent._console_set_ready()
            agent._preview_reserve()
        agent._console_notify(call.campaign_id.ids)
        return True

    def _apply_disposition(self, call, disposition, note, callback_at):
        """Record the checked disposition on the call and its contact, then its action; the hook that
        other addons extend (the CRM pipeline) with their own effects of a disposition."""
        call.write(
            {"disposition_id": disposition.id, "disposition_at": fields.Datetime.now(), "note": note or False}
        )
        contact = call.contact_id
        contact.write({"disposition_id": disposition.id})
        if disposition.action == "callback":
            self._schedule_callback(contact, callback_at, note)
        elif disposition.action == "wrong_number":
            contact.write({"state": "failed"})
        elif disposition.action == "do_not_call":
            self._add_to_do_not_call(contact, disposition)

    # Preview (agent-first campaigns with preview on): the agent sees the contact first.
    def preview_next(self):
        self.ensure_one()
        agent = self._console_lock()
        agent._preview_reserve()
        agent._console_notify()
        return True

    def preview_call(self):
        self.ensure_one()
        agent = self._console_lock()
        contact = agent.preview_contact_id
        if not contact:
            raise UserError(self.env._("There is no previewed contact to call."))
        if contact.state != "pending":
            agent._preview_release()
            agent._console_notify()
            raise UserError(self.env._("%s is no longer to be called.", contact.display_name))
        # Reserved for this agent and due now: the dialer calls it with this agent, agent first.
        contact.write({"assigned_agent_id": agent.id, "next_attempt_at": fields.Datetime.now()})
        agent.write({"preview_contact_id": False})
        agent._console_notify()
        return True

    def preview_skip(self):
        self.ensure_one()
        agent = self._console_lock()
        contact = agent.preview_contact_id
        if not contact:
            raise UserError(self.env._("There is no previewed contact to skip."))
        agent._preview_release()
        # Later, as if it had not answered, but no attempt is charged: nobody was called.
        delay = timedelta(minutes=contact.campaign_id.retry_delay_no_answer)
        contact.write({"next_attempt_at": fields.Datetime.now() + delay})
        agent._preview_reserve()
        agent._console_notify()
        return True

    # Helpers
    def _console_lock(self):
        """This agent, checked to be the current user's own, locked and in sudo for the console's writes.

        Agents only read agents, contacts and calls; the console's actions write what they need
        with sudo, only on the current user's own agent and what hangs from it. The row lock
        orders these writes with the dialer's updates of the same agent.
        """
        if self.user_id != self.env.user:
            raise AccessError(self.env._("You can only act on your own agent console."))
        self.env.cr.execute(SQL("SELECT id FROM outbound_agent WHERE id = %s FOR UPDATE", self.id))
        agent = self.sudo()
        agent.invalidate_recordset()
        return agent

    def _console_set_ready(self):
        self.write(
            {
                "state": "ready",
                "pause_reason_id": False,
                "wrap_up_until": False,
                "missed_call_count": 0,
                "state_changed_at": fields.Datetime.now(),
            }
        )

    def _console_notify(self, campaign_ids=()):
        live.notify_agents(self.env, self.ids)
        live.notify_dashboard(self.env, set(campaign_ids) | set(self.campaign_ids.ids))

    def _last_call(self):
        return self.env["outbound.call"].sudo().search([("agent_id", "=", self.id)], order="id desc", limit=1)

    def _console_call(self):
        """The call the console shows: ringing, on it, in wrap-up, or ended and still awaiting a disposition."""
        call = self.current_call_id
        if not call:
            return call
        if self.state in ("ringing", "on_call", "wrap_up"):
            return call
        if call.state == "ended" and call.connect_at and not call.disposition_id:
            return call
        return self.env["outbound.call"]

    def _console_call_data(self, call):
        call = call.sudo()
        campaign = call.campaign_id
        return {
            "id": call.id,
            "state": call.state,
            "ended": call.state == "ended",
            "disposition_id": call.disposition_id.id,
            "campaign": {"id": campaign.id, "name": campaign.name},
            "contact": self._console_contact_data(call.contact_id, exclude_call=call),
            "dispositions": [
                {"id": d.id, "name": d.name, "action": d.action} for d in campaign.disposition_ids
            ],
        }

    def _console_contact_data(self, contact, exclude_call=None):
        # sudo: only ever the contact of the agent's own current call or preview; the pop shows
        # its whole history, including attempts by other agents, which the agent's rules hide.
        contact = contact.sudo()
        labels = contact.fields_get(list(POP_FIELDS), ["string"])
        earlier = [("contact_id", "=", contact.id), ("id", "!=", exclude_call.id if exclude_call else 0)]
        calls = self.env["outbound.call"].sudo().search(earlier, limit=POP_ATTEMPTS_LIMIT)
        outcomes = dict(calls._fields["outcome"]._description_selection(self.env))
        notes = contact.message_ids.filtered(lambda message: message.message_type == "comment")
        return {
            "id": contact.id,
            "name": contact.display_name,
            "campaign": contact.campaign_id.name,
            "fields": [
                {"name": name, "label": labels[name]["string"], "value": contact[name]}
                for name in POP_FIELDS
                if contact[name]
            ],
            "extra_data": [[str(key), str(value)] for key, value in (contact.extra_data or {}).items()],
            "script": contact.campaign_id._call_script_for(contact),
            "partner": self._console_partner_data(contact.partner_id),
            "attempts": [
                {
                    "id": call.id,
                    "date": call.start_at,
                    "outcome": outcomes.get(call.outcome, ""),
                    "disposition": call.disposition_id.name or "",
                    "note": call.note or "",
                    "agent": call.agent_id.name or "",
                }
                for call in calls
            ],
            "notes": [
                {
                    "id": message.id,
                    "date": message.date,
                    "author": message.author_id.name or "",
                    "body": message.body,
                }
                for message in notes[:POP_NOTES_LIMIT]
            ],
        }

    def _console_partner_data(self, partner):
        """The contact's partner for the screen-pop: who they are, the latest of their chatter and
        activities, a link to open them. sudo: only ever the partner of the agent's own contact."""
        if not partner:
            return False
        partner = partner.sudo()
        messages = partner.message_ids.filtered(lambda message: message.message_type in ("comment", "email"))
        return {
            "id": partner.id,
            "name": partner.name or "",
            "company": partner.commercial_company_name or partner.parent_id.name or "",
            "tags": partner.category_id.mapped("name"),
            "url": f"/odoo/res.partner/{partner.id}",
            "messages": [
                {
                    "id": message.id,
                    "date": message.date,
                    "author": message.author_id.name or "",
                    "body": message.body,
                }
                for message in messages[:POP_NOTES_LIMIT]
            ],
            "activities": [
                {
                    "id": activity.id,
                    "date": activity.date_deadline,
                    "summary": activity.summary or activity.activity_type_id.name or "",
                    "user": activity.user_id.name or "",
                }
                for activity in partner.activity_ids[:POP_NOTES_LIMIT]
            ],
        }

    def _console_preview_data(self):
        contact = self.preview_contact_id
        if not contact:
            return False
        return self._console_contact_data(contact)

    def _schedule_callback(self, contact, callback_at, note):
        """Call the contact back at that time, by this agent, with a call activity on the agent's agenda."""
        contact.write({"state": "pending", "next_attempt_at": callback_at, "assigned_agent_id": self.id})
        tz = pytz.timezone(self.user_id.tz or "UTC")
        local = pytz.utc.localize(callback_at).astimezone(tz)
        contact.activity_schedule(
            "mail.mail_activity_data_call",
            date_deadline=local.date(),
            summary=self.env._("Call back at %s", local.strftime("%H:%M")),
            note=note or "",
            user_id=self.user_id.id,
        )

    def _add_to_do_not_call(self, contact, disposition):
        """Put the contact's number on its company's do-not-call list, which stops every campaign of
        the company calling it, and on Odoo's phone blacklist (SMS marketing and the other
        companies' campaigns too)."""
        contact.write({"state": "dnc"})
        self.env["phone.blacklist"].sudo()._add(
            [contact.phone_e164],
            message=self.env._(
                "Asked not to be called again: %(campaign)s, %(agent)s",
                campaign=contact.campaign_id.name,
                agent=self.name,
            ),
        )
        DoNotCall = self.env["outbound.do.not.call"].sudo()
        known = DoNotCall.search(
            [("company_id", "=", contact.company_id.id), ("phone_e164", "=", contact.phone_e164)], limit=1
        )
        if known:
            known._mark_contacts()
            return
        DoNotCall.create(
            {
                "company_id": contact.company_id.id,
                "phone_e164": contact.phone_e164,
                "source": "agent",
                "contact_id": contact.id,
                "reason": self.env._(
                    "%(disposition)s, asked to %(agent)s", disposition=disposition.name, agent=self.name
                ),
            }
        )

    def _preview_campaigns(self):
        return self.campaign_ids.filtered(lambda campaign: campaign.preview and campaign.state == "running")

    def _preview_reserve(self):
        """Reserve the next due contact of this ready agent's running preview campaigns."""
        if self.state != "ready" or self.preview_contact_id:
            return
        for model in ("outbound.contact", "outbound.agent", "outbound.campaign"):
            self.env[model].flush_model()
        # SKIP LOCKED: two agents reserving at the same time never get the same contact. Touching
        # the row reserved makes a transaction whose snapshot predates our commit fail to lock it
        # (a serialization error, which Odoo retries) instead of reserving it a second time.
        self.env.cr.execute(
            SQL(
                """
                WITH chosen AS (
                    SELECT c.id
                      FROM outbound_contact c
                      JOIN outbound_campaign k ON k.id = c.campaign_id
                      JOIN outbound_campaign_agent_rel r ON r.campaign_id = k.id AND r.agent_id = %(agent)s
                     WHERE k.state = 'running' AND k.preview AND k.active
                       AND c.state = 'pending' AND c.assigned_agent_id IS NULL
                       AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= %(now)s)
                       AND NOT EXISTS (SELECT 1 FROM outbound_agent a WHERE a.preview_contact_id = c.id)
                     ORDER BY c.next_attempt_at NULLS FIRST, c.id
                     LIMIT 1
                       FOR UPDATE OF c SKIP LOCKED
                )
                UPDATE outbound_contact c
                   SET write_date = %(now)s, write_uid = %(uid)s
                  FROM chosen
                 WHERE c.id = chosen.id
                RETURNING c.id
                """,
                agent=self.id,
                now=fields.Datetime.now(),
                uid=self.env.uid,
            )
        )
        row = self.env.cr.fetchone()
        if row:
            self.env["outbound.contact"].browse(row[0]).invalidate_recordset(["write_date", "write_uid"])
            self.write({"preview_contact_id": row[0]})

    def _preview_release(self):
        self.write({"preview_contact_id": False})

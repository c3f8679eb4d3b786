"""The agent console's part of issue 11, on ``outbound.agent``: **Leave message** (agent first:
the agent hears a machine, the dialer host redirects the customer to the campaign's message and
lets the agent go at once), and the recordings of the contact's earlier attempts in the pop."""

from odoo import models
from odoo.exceptions import UserError

from ..dialer.outcomes import MACHINES


class OutboundAgent(models.Model):
    _inherit = "outbound.agent"  # pylint: disable=consider-merging-classes-inherited

    def action_leave_message(self):
        """Ask the dialer host to leave the campaign's message on the machine of the agent's
        current call: the call ends as ``machine_message_left``, the agent is free at once."""
        self.ensure_one()
        agent = self._console_lock()
        call = agent.current_call_id.sudo()
        if not agent._can_leave_message(call):
            raise UserError(
                self.env._(
                    "A message can be left only during an agent-first call whose campaign has a machine "
                    "message, once the contact has answered."
                )
            )
        call.leave_message_state = "requested"
        return True

    def _can_leave_message(self, call):
        return bool(
            call
            and call.dial_mode == "agent_first"
            and call.state == "connected"
            and not call.leave_message_state
            and call.campaign_id.machine_message
        )

    def _console_call(self):
        """No disposition to record for a machine: the console lets its call go."""
        call = super()._console_call()
        if call and call.sudo().state == "ended" and call.sudo().outcome in {o.value for o in MACHINES}:
            return self.env["outbound.call"]
        return call

    def _console_call_data(self, call):
        data = super()._console_call_data(call)
        data["can_leave_message"] = self._can_leave_message(call.sudo())
        data["leave_message_state"] = call.sudo().leave_message_state or False
        return data

    def _console_contact_data(self, contact, exclude_call=None):
        """The pop's attempts, with the recording of those the agent handled (managers: all)."""
        data = super()._console_contact_data(contact, exclude_call)
        manager = self.env.user.has_group("outbound_campaign.group_outbound_manager")
        calls = self.env["outbound.call"].sudo().browse([attempt["id"] for attempt in data["attempts"]])
        recordings = {
            call.id: call.recording_id.id
            for call in calls
            if call.recording_id and (manager or call.agent_id.user_id == self.env.user)
        }
        for attempt in data["attempts"]:
            attempt["recording_id"] = recordings.get(attempt["id"], False)
        return data

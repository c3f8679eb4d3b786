"""Answering machines and call recordings, on ``outbound.campaign``: the manager's settings
(detection bounded by ``dialer/amd.py``; what to do with a machine; record or not, the
announcement, how long recordings are kept), the engine's view of them, the machines' counts on
the dashboard card, and the retention cron."""

import logging
from dataclasses import replace
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..dialer.amd import BOUNDS, AmdSettings

_logger = logging.getLogger(__name__)

RECORDING_FIELDS = ("record_calls", "record_announcement")
#: The settings the engine reads: a running campaign is checked again when one changes.
AMD_FIELDS = (
    "amd_enabled",
    "amd_agent_first",
    "amd_initial_silence",
    "amd_greeting",
    "amd_total_analysis",
    "machine_action",
    "machine_message",
)


def _span(name):
    return f"{BOUNDS[name].least}–{BOUNDS[name].greatest}"


# A feature of its own, in a file named after it (docs/architecture.md, "Files of models/"), as
# campaign_dashboard.py is: pylint_odoo would have every extension of a model in one file.
class OutboundCampaign(models.Model):
    _inherit = "outbound.campaign"  # pylint: disable=consider-merging-classes-inherited

    amd_enabled = fields.Boolean(
        "Detect answering machines",
        help="Asterisk listens to the first seconds of each answered call (AMD): a machine is never "
        "put through to an agent. Client first: before the hold message.",
    )
    amd_agent_first = fields.Boolean(
        "Also in agent-first calls",
        help="Off by default: in agent-first calls the agent is already on the line and hears the "
        "greeting; detection only delays the moment they hear the customer.",
    )
    amd_initial_silence = fields.Integer(
        "Longest silence before a greeting (ms)",
        default=BOUNDS["initial_silence"].default,
        required=True,
        help="Silence after the answer longer than this means a machine (Asterisk's initialSilence).",
    )
    amd_greeting = fields.Integer(
        "Longest greeting of a person (ms)",
        default=BOUNDS["greeting"].default,
        required=True,
        help="A greeting that talks longer than this is a machine's (Asterisk's greeting).",
    )
    amd_total_analysis = fields.Integer(
        "Longest analysis (ms)",
        default=BOUNDS["total_analysis"].default,
        required=True,
        help="Past this the call is not sure, and goes to an agent as a person would "
        "(Asterisk's totalAnalysisTime).",
    )
    machine_action = fields.Selection(
        [("hangup", "Hang up"), ("message", "Leave a message")],
        "On a machine",
        default="hangup",
        required=True,
        help="Leave a message: wait for the end of the greeting (the beep), play the machine message, "
        "hang up.",
    )
    machine_message = fields.Char(
        help="Asterisk sound left on answering machines (also by an agent's Leave message button), "
        "e.g. oc-voicemail-drop."
    )
    retry_delay_machine = fields.Integer("Retry after a machine (min)", default=240, required=True)
    retry_delay_machine_message = fields.Integer(
        "Retry after a message was left (min)", default=1440, required=True
    )

    record_calls = fields.Boolean(
        help="Asterisk records each call (both sides mixed) from the moment the customer and the agent "
        "are connected; the file is attached to the call."
    )
    record_announcement = fields.Char(
        "Recording announcement",
        help='Asterisk sound played to the customer before the agent is connected, e.g. "this call may '
        'be recorded". The law of many countries requires one: see the README.',
    )
    recording_retention_days = fields.Integer(
        "Keep recordings (days)",
        default=90,
        required=True,
        help="Recordings older than this are deleted every night.",
    )

    _sql_constraints = [
        (
            "machine_retry_delays_positive",
            "CHECK(retry_delay_machine >= 0 AND retry_delay_machine_message >= 0)",
            "Retry delays cannot be negative.",
        ),
        (
            "recording_retention_positive",
            "CHECK(recording_retention_days > 0)",
            "Recordings must be kept at least one day.",
        ),
    ]

    @api.constrains(*AMD_FIELDS)
    def _check_answering_machines(self):
        for campaign in self:
            try:
                settings = campaign._amd_settings()
            except ValueError:
                raise ValidationError(
                    self.env._(
                        "Campaign %(name)s: the detection's times must be within their bounds (silence "
                        "%(silence)s, greeting %(greeting)s, analysis %(analysis)s ms), the greeting "
                        "shorter than the analysis.",
                        name=campaign.name,
                        silence=_span("initial_silence"),
                        greeting=_span("greeting"),
                        analysis=_span("total_analysis"),
                    )
                ) from None
            campaign._check_sound_name("machine message", campaign.machine_message)
            if settings.enabled and settings.on_machine.value == "message" and not campaign.machine_message:
                raise ValidationError(
                    self.env._("Campaign %s leaves a message on machines: choose the message.", campaign.name)
                )

    @api.constrains(*AMD_FIELDS)
    def _check_dialable_answering_machines(self):
        self._check_dialable()

    def _amd_settings(self):
        self.ensure_one()
        return AmdSettings(
            enabled=self.amd_enabled,
            agent_first=self.amd_agent_first,
            initial_silence=self.amd_initial_silence,
            greeting=self.amd_greeting,
            total_analysis=self.amd_total_analysis,
            on_machine=self.machine_action,
            message=self.machine_message or None,
        )

    def _dialer_view(self, server_id, stats=None):
        view = super()._dialer_view(server_id, stats)
        delays = replace(
            view.retry_delays,
            machine=timedelta(minutes=self.retry_delay_machine),
            machine_message_left=timedelta(minutes=self.retry_delay_machine_message),
        )
        return replace(
            view,
            amd=self._amd_settings(),
            retry_delays=delays,
            record=self.record_calls,
            record_announcement=self.record_announcement or None,
        )

    @api.constrains(*RECORDING_FIELDS)
    def _check_recordings(self):
        for campaign in self:
            campaign._check_sound_name("recording announcement", campaign.record_announcement)
        self._check_dialable()

    @api.model
    def _cron_delete_old_recordings(self):
        """Delete the recordings of each campaign older than its retention period."""
        deleted = 0
        now = fields.Datetime.now()
        Call = self.env["outbound.call"]
        recorded = Call._read_group([("recording_id", "!=", False)], ["campaign_id"])
        for (campaign,) in recorded:
            calls = self.env["outbound.call"].search(
                [
                    ("campaign_id", "=", campaign.id),
                    ("recording_id", "!=", False),
                    ("end_at", "<", now - timedelta(days=campaign.recording_retention_days)),
                ]
            )
            deleted += len(calls)
            calls.recording_id.unlink()
            calls.write({"recording_state": "deleted"})
        _logger.info("Recordings past their retention period: %s deleted", deleted)
        return deleted

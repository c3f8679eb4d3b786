"""The live dashboard's server side, added to ``outbound.campaign``: the cards of the running and
paused campaigns (one fixed set of grouped queries, whatever their number), and the bus
notifications that keep them live."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import babel.dates

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL
from odoo.tools.misc import babel_locale_parse, get_lang

from .. import live
from ..dialer import campaign_status, forecast, schedule
from ..dialer.outcomes import NO_DIAL_ATTEMPT, TRUNK_REFUSAL_RUN, Outcome, asterisk_status, trunk_refuses
from ..dialer.pacing import PacingStats, window_first_day
from ..dialer.schedule import naive, utc
from .outbound_campaign_counter import CONTACT

#: The dialer host renews its heartbeat every third of its lease (10 s by default) and the cron
#: host every minute's burst, releasing the lease in between: a server neither leased nor heard
#: of for this long has no dialer running.
DIALER_OFFLINE_AFTER = timedelta(seconds=90)
#: How each dialing status shows on the card: success, warning or danger.
STATUS_LEVELS = {
    campaign_status.DIALING: "success",
    campaign_status.ABANDON_CAP: "danger",
    schedule.ENDED: "danger",
    schedule.NEVER: "danger",
}


class OutboundCampaign(models.Model):
    _inherit = "outbound.campaign"

    def action_run_now(self):
        result = super().action_run_now()
        live.notify_dashboard(self.env, self.ids)
        return result

    def action_pause(self):
        result = super().action_pause()
        live.notify_dashboard(self.env, self.ids)
        return result

    def action_done(self):
        result = super().action_done()
        live.notify_dashboard(self.env, self.ids)
        return result

    @api.model
    def get_dashboard_cards(self):
        """One card per running or paused campaign the manager can read, for the live dashboard."""
        if not self.env.user.has_group("outbound_campaign.group_outbound_manager"):
            raise AccessError(self.env._("Only campaign managers can see the live dashboard."))
        campaigns = self.search([("state", "in", ("running", "paused"))])
        return campaigns._dashboard_cards(datetime.now(timezone.utc))

    def _dashboard_cards(self, now):
        """The cards of ``self`` at ``now`` (aware UTC): a fixed number of queries for any count."""
        if not self:
            return []
        contacts = self._dashboard_contact_counts(now)
        in_flight = self._dashboard_calls_in_flight()
        agents = self._dashboard_agents()
        refusals = self._dashboard_trunk_refusals()
        # The dialer's own reading of the campaigns (pacing counts over whole days, calling
        # window), so that the card shows what the dialer acts on; the answering machines met over
        # the same window come from the same read.
        Counter = self.env["outbound.campaign.counter"]
        outcomes = Counter._call_counts(self.ids, window_first_day(now))
        pacing = Counter._pacing_stats(self.ids, now, outcomes)
        reasons = (
            self.env["outbound.pause.reason"]
            .with_context(active_test=False)
            .browse({reason_id for counts in agents.values() for reason_id in counts["paused"]})
        )
        reason_names = {reason.id: reason.name for reason in reasons}
        show = self._dashboard_clock(now)
        state_labels = dict(self._fields["state"]._description_selection(self.env))
        type_labels = dict(self._fields["campaign_type"]._description_selection(self.env))
        cards = []
        for campaign in self:
            total, left, closed_recently = contacts.get(campaign.id, (0, 0, 0))
            stats = pacing.get(campaign.id, PacingStats())
            client_first = campaign.campaign_type == "client_first"
            agent_counts = agents.get(campaign.id) or {"states": {}, "paused": {}}
            states = agent_counts["states"]
            status, level = campaign._dashboard_status(now, show, refusals.get(campaign.id))
            exhaust = campaign._dashboard_forecast(now, left, closed_recently)
            cards.append(
                {
                    "id": campaign.id,
                    "name": campaign.name,
                    "state": campaign.state,
                    "state_label": state_labels[campaign.state],
                    "campaign_type": campaign.campaign_type,
                    "campaign_type_label": type_labels[campaign.campaign_type],
                    "contact_count": total,
                    "contact_done_count": total - left,
                    "contacts_left": left,
                    "progress": 100.0 * (total - left) / total if total else 0.0,
                    "calls_in_flight": in_flight.get(campaign.id, 0),
                    "agents_ready": states.get("ready", 0),
                    "agents_ringing": states.get("ringing", 0),
                    "agents_talking": states.get("on_call", 0),
                    "agents_wrap_up": states.get("wrap_up", 0),
                    "agents_on_call": sum(
                        states.get(state, 0) for state in ("ringing", "on_call", "wrap_up")
                    ),
                    "agents_paused": states.get("paused", 0),
                    "agents_offline": states.get("offline", 0),
                    "pause_reasons": [
                        {
                            "name": reason_names.get(reason_id) or self.env._("No reason given"),
                            "count": count,
                        }
                        for reason_id, count in sorted(
                            agent_counts["paused"].items(), key=lambda item: (-item[1], item[0] or 0)
                        )
                    ],
                    "answer_rate": 100.0 * stats.answer_rate if stats.dialed else None,
                    "abandon_rate": 100.0 * stats.abandon_rate if client_first and stats.answered else None,
                    "abandon_rate_cap": campaign.abandon_rate_cap if client_first else None,
                    "abandon_over_cap": client_first
                    and 100.0 * stats.abandon_rate > campaign.abandon_rate_cap,
                    "dial_ratio": campaign.dial_ratio,
                    "closed_recently": closed_recently,
                    "exhausts_at": fields.Datetime.to_string(naive(exhaust.exhausts_at))
                    if exhaust.exhausts_at
                    else False,
                    "forecast": campaign._dashboard_forecast_text(exhaust, show),
                    "dialing_status": campaign.dialing_status or False,
                    "dialing_status_text": status,
                    "dialing_status_level": level,
                    "amd_enabled": campaign.amd_enabled,
                    "machine_count": outcomes.get(campaign.id, {}).get(Outcome.MACHINE.value, 0),
                    "machine_message_left_count": outcomes.get(campaign.id, {}).get(
                        Outcome.MACHINE_MESSAGE_LEFT.value, 0
                    ),
                }
            )
        return cards

    # -- the figures, one grouped query each ------------------------------------------------------

    def _dashboard_contact_counts(self, now):
        """Per campaign: contacts, contacts left to call (from the campaign counters, whatever the
        list's size), contacts closed over the pace span (from the calls of that span alone)."""
        self.env["outbound.contact"].flush_model(["campaign_id", "state"])
        self.env["outbound.call"].flush_model(["campaign_id", "contact_id", "state", "end_at"])
        self.env.cr.execute(
            SQL(
                """
                SELECT campaign_id, sum(count), COALESCE(sum(count) FILTER (WHERE kind = ANY(%(left)s)), 0), 0
                  FROM outbound_campaign_counter
                 WHERE campaign_id = ANY(%(ids)s) AND day IS NULL
              GROUP BY campaign_id
                 UNION ALL
                SELECT call.campaign_id, 0, 0, count(DISTINCT call.contact_id)
                  FROM outbound_call call
                  JOIN outbound_contact contact ON contact.id = call.contact_id
                 WHERE call.campaign_id = ANY(%(ids)s) AND call.state = 'ended' AND call.end_at >= %(since)s
                   AND contact.state NOT IN ('pending', 'in_progress')
              GROUP BY call.campaign_id
                """,
                ids=self.ids,
                left=[f"{CONTACT}{state}" for state in ("pending", "in_progress")],
                since=naive(now - forecast.PACE_SPAN),
            )
        )
        counts = {}
        for campaign_id, total, left, closed in self.env.cr.fetchall():
            known = counts.get(campaign_id, (0, 0, 0))
            counts[campaign_id] = (known[0] + total, known[1] + left, known[2] + closed)
        return counts

    def _dashboard_calls_in_flight(self):
        self.env["outbound.call"].flush_model(["campaign_id", "state"])
        self.env.cr.execute(
            SQL(
                """SELECT campaign_id, count(*) FROM outbound_call
                    WHERE campaign_id = ANY(%s) AND state <> 'ended' GROUP BY campaign_id""",
                self.ids,
            )
        )
        return dict(self.env.cr.fetchall())

    def _dashboard_trunk_refusals(self):
        """Per campaign whose trunk refuses its calls (``outcomes.trunk_refuses`` of its last dial
        attempts, read backwards from the ended calls' index): the newest refused call."""
        self.env["outbound.call"].flush_model(
            ["campaign_id", "state", "outcome", "end_at", "dial_status", "hangup_cause", "originate_reason"]
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT c.id, last.outcome, last.dial_status, last.hangup_cause, last.originate_reason, last.end_at
                  FROM unnest(%(ids)s::int[]) AS c(id)
            CROSS JOIN LATERAL (
                       SELECT call.outcome, call.dial_status, call.hangup_cause, call.originate_reason, call.end_at
                         FROM outbound_call call
                        WHERE call.campaign_id = c.id AND call.state = 'ended' AND call.end_at IS NOT NULL
                          AND call.outcome IS NOT NULL AND call.outcome <> ALL(%(no_dial)s)
                     ORDER BY call.end_at DESC
                        LIMIT %(run)s) last
                """,
                ids=self.ids,
                no_dial=[outcome.value for outcome in NO_DIAL_ATTEMPT],
                run=TRUNK_REFUSAL_RUN,
            )
        )
        calls = {}
        for campaign_id, *call in self.env.cr.fetchall():
            calls.setdefault(campaign_id, []).append(call)
        return {
            campaign_id: latest[0]
            for campaign_id, latest in calls.items()
            if trunk_refuses([call[0] for call in latest])
        }

    def _dashboard_agents(self):
        """Per campaign: its active agents by state, and its paused agents by pause reason."""
        self.env["outbound.agent"].flush_model(["state", "pause_reason_id", "active"])
        self.env.cr.execute(
            SQL(
                """
                SELECT rel.campaign_id, agent.state, agent.pause_reason_id, count(*)
                  FROM outbound_campaign_agent_rel rel
                  JOIN outbound_agent agent ON agent.id = rel.agent_id
                 WHERE rel.campaign_id = ANY(%s) AND agent.active
              GROUP BY rel.campaign_id, agent.state, agent.pause_reason_id
                """,
                self.ids,
            )
        )
        agents = {}
        for campaign_id, state, reason_id, count in self.env.cr.fetchall():
            bucket = agents.setdefault(campaign_id, {"states": {}, "paused": {}})
            bucket["states"][state] = bucket["states"].get(state, 0) + count
            if state == "paused":
                bucket["paused"][reason_id] = bucket["paused"].get(reason_id, 0) + count
        return agents

    # -- status and forecast, in words -------------------------------------------------------------

    def _dashboard_forecast(self, now, left, closed_recently):
        try:  # the calling window exactly as the dialer reads it
            window = self._calling_window()
        except ValueError:  # settings the dialer refuses too: it does not dial this campaign
            return forecast.Forecast(forecast.NO_PACE)
        pace = forecast.pace_per_hour(closed_recently, now, window)
        return forecast.exhaust(now, left, pace, window)

    def _dashboard_forecast_text(self, exhaust, show):
        if exhaust.status == forecast.ON_PACE:
            return show(exhaust.exhausts_at)
        return {
            forecast.NO_PACE: "—",
            forecast.NOT_WITHIN_DATES: self.env._("Not before the end date"),
            forecast.BEYOND_HORIZON: self.env._("More than a year"),
        }[exhaust.status]

    @api.model
    def _dashboard_clock(self, now):
        """How the cards show a moment (aware UTC) on the user's clock: the time alone today,
        else with the day. Built once per read: Odoo's format_datetime looks the language up at
        every call."""
        try:
            zone = ZoneInfo(self.env.context.get("tz") or self.env.user.tz or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        locale = babel_locale_parse(get_lang(self.env).code)
        today = now.astimezone(zone).date()

        def show(moment):
            local = moment.astimezone(zone)
            pattern = "HH:mm" if local.date() == today else "EEE d MMM HH:mm"
            return babel.dates.format_datetime(local, pattern, locale=locale)

        return show

    def _dashboard_status(self, now, show, refused=None):
        """The dialing status as a sentence, and its level (success, warning, danger, secondary).
        ``refused``: the newest call the trunk refused, when it refused the last ones."""
        if self.state == "paused":
            return self.env._("Paused"), "secondary"
        server = self.dialer_server_id
        if not server:
            return self.env._("No dialer server"), "danger"
        leased = server.lease_until and utc(server.lease_until) > now
        heard = server.last_heartbeat and now - utc(server.last_heartbeat) <= DIALER_OFFLINE_AFTER
        if not leased and not heard:
            if not server.last_heartbeat:
                return self.env._("Dialer offline"), "danger"
            return self.env._("Dialer offline since %s", show(utc(server.last_heartbeat))), "danger"
        if server.connection_state == "error":
            return self.env._("Dialer cannot reach Asterisk: %s", server.connection_error or ""), "danger"
        if refused:
            _outcome, dial_status, cause, reason, ended_at = refused
            return self.env._(
                "Trunk refuses calls: the last %(count)s were refused (%(status)s), the latest at %(time)s",
                status=asterisk_status(dial_status, cause, reason),
                count=TRUNK_REFUSAL_RUN,
                time=show(utc(ended_at)),
            ), "danger"
        reason = self.dialing_status
        if not reason:
            return self.env._("Waiting for the dialer"), "warning"
        until = utc(self.dialing_status_until)
        when = show(until) if until else None
        sentence = {
            campaign_status.DIALING: self.env._("Dialing"),
            campaign_status.ABANDON_CAP: self.env._("Abandon cap reached — pacing at 1:1"),
            campaign_status.PACED: self.env._("Paced: enough calls in flight for the ready agents"),
            campaign_status.NO_AGENT_READY: self.env._("No agent ready"),
            campaign_status.NO_CONTACT_DUE: self.env._("No contact due before %s", when)
            if when
            else self.env._("No contact due"),
            campaign_status.SERVER_FULL: self.env._(
                "Dialer server at its limit (channels or calls per second)"
            ),
            schedule.OUTSIDE_HOURS: self.env._("Outside calling window until %s", when)
            if when
            else self.env._("Outside calling window"),
            schedule.CLOSED_DAY: self.env._("No calls today: next calling window %s", when)
            if when
            else self.env._("No calls today"),
            schedule.NOT_STARTED: self.env._("Not started: first calls %s", when)
            if when
            else self.env._("Not started"),
            schedule.ENDED: self.env._("Past its end date"),
            schedule.NEVER: self.env._("Its calling window never opens"),
            schedule.OPEN: self.env._("Calling window open"),
        }.get(reason, reason)
        return sentence, STATUS_LEVELS.get(reason, "warning")

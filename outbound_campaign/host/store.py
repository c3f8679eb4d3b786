"""The database side of the dialer host: every read and write in its own short transaction.

Nothing here holds a cursor across a network wait: each method opens a cursor, does its work,
commits and closes it. Contacts are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and their
call rows are committed before any Originate is sent, so a crash can lose no call.
"""

import logging
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

from ..dialer.engine import (
    AgentView,
    CallState,
    CallView,
    CampaignView,
    ContactView,
    DialerServerView,
    RetryDelays,
)
from ..dialer.outcomes import CampaignType
from ..dialer.pacing import PacingPolicy, PacingStats
from ..dialer.schedule import CallingWindow

_logger = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Errors after which a transaction is simply run again: another one won the rows it wanted.
TRANSIENT_DB_ERRORS = (pg_errors.SerializationFailure, pg_errors.LockNotAvailable, pg_errors.DeadlockDetected)
#: The abandon rate is measured over this window (FTC/FCC: 30 days; Ofcom's 24 h is stricter per
#: day but looser over the month at the same cap).
PACING_WINDOW = timedelta(days=30)
#: The pause reason the dialer sets on an agent who does not answer.
NO_ANSWER_REASON = SQL(
    "SELECT res_id FROM ir_model_data WHERE module = 'outbound_campaign' AND name = 'pause_reason_no_answer'"
)


def utc(value):
    """A naive UTC datetime as stored by Odoo → an aware one; None stays None."""
    return value.replace(tzinfo=timezone.utc) if value else None


def naive(value):
    """An aware datetime → the naive UTC datetime Odoo stores."""
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value else None


def host_identity(kind):
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"


class DialerStore:
    """The dialer's view of the database for one dialer server."""

    def __init__(self, registry, server_id, holder):
        self.registry = registry
        self.server_id = server_id
        self.holder = holder

    @contextmanager
    def env(self):
        """A short transaction, committed on success, retried by the caller on serialization failure."""
        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {})

    def _run(self, work, env=None):
        """``work(env)`` inside the caller's transaction ``env``, or in a short one of its own."""
        return work(env) if env is not None else self._retrying(work)

    def _retrying(self, work, attempts=5):
        # Two hosts (or a host and a manager's click) may touch the same rows: PostgreSQL then
        # refuses one transaction under Odoo's REPEATABLE READ; running it again is the remedy.
        for attempt in range(attempts):
            try:
                with self.env() as env:
                    return work(env)
            except TRANSIENT_DB_ERRORS:
                if attempt == attempts - 1:
                    raise
        return None

    # -- the lease: at most one host dials for a server ----------------------------------------

    def acquire_lease(self, ttl):
        """Take or renew the server's lease; False if another live host holds it."""

        def work(env):
            env.cr.execute(
                SQL(
                    """
                    UPDATE outbound_dialer_server
                       SET holder = %(holder)s,
                           lease_until = (now() AT TIME ZONE 'UTC') + %(ttl)s * interval '1 second'
                     WHERE id = %(id)s AND active
                       AND (holder IS NULL OR holder = %(holder)s OR lease_until IS NULL
                            OR lease_until < (now() AT TIME ZONE 'UTC') OR holder = ANY(%(dead)s))
                 RETURNING id
                    """,
                    holder=self.holder,
                    ttl=ttl,
                    id=self.server_id,
                    dead=self._dead_local_holders(env),
                )
            )
            return bool(env.cr.fetchone())

        try:
            return self._retrying(work, attempts=1)
        except pg_errors.SerializationFailure:
            return False

    def _dead_local_holders(self, env):
        """Holders that were processes of this machine and are gone (killed): their lease is void."""
        env.cr.execute(SQL("SELECT holder FROM outbound_dialer_server WHERE id = %s", self.server_id))
        row = env.cr.fetchone()
        holder = row and row[0]
        if not holder or "@" not in holder:
            return []
        host, _sep, pid = holder.rpartition("@")[2].rpartition(":")
        if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
            return []
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return [holder]
        except PermissionError:
            return []
        return []

    def release_lease(self):
        with self.env() as env:
            env.cr.execute(
                SQL(
                    """UPDATE outbound_dialer_server
                          SET holder = NULL, lease_until = NULL, connection_state = 'disconnected'
                        WHERE id = %s AND holder = %s""",
                    self.server_id,
                    self.holder,
                )
            )

    def heartbeat(self, connection_state, error=None):
        """Record the link's state; returns False if the lease was lost to another host."""
        with self.env() as env:
            env.cr.execute(
                SQL(
                    """UPDATE outbound_dialer_server
                          SET connection_state = %s, connection_error = %s,
                              last_heartbeat = now() AT TIME ZONE 'UTC'
                        WHERE id = %s AND holder = %s
                    RETURNING id""",
                    connection_state,
                    error,
                    self.server_id,
                    self.holder,
                )
            )
            return bool(env.cr.fetchone())

    # -- loading the state ---------------------------------------------------------------------

    def load_server(self):
        """The engine's view of the server, and how to reach its AMI."""
        with self.env() as env:
            server = env["outbound.dialer.server"].browse(self.server_id)
            view = DialerServerView(
                id=server.id,
                customer_dial_template=server.customer_dial_template,
                max_channels=server.max_channels,
                max_calls_per_second=server.max_calls_per_second,
            )
            link = {
                "host": server.host,
                "port": server.port,
                "username": server.username,
                "secret": server.secret or "",
            }
            return view, link

    def load_campaigns(self, now, ids=None):
        """Running campaigns of the server (or the campaigns ``ids``, whatever their state), with
        their pacing counts over the window."""
        with self.env() as env:
            Campaign = env["outbound.campaign"]
            if ids is None:  # an archived campaign stops dialling
                campaigns = Campaign.search(
                    [("state", "=", "running"), ("dialer_server_id", "=", self.server_id)]
                )
            else:  # the calls in flight of an archived campaign still end properly
                Campaign = Campaign.with_context(active_test=False)
                campaigns = Campaign.browse(ids).exists()
            stats = self._pacing_stats(env, campaigns.ids, now)
            views = []
            for campaign in campaigns:
                try:
                    views.append(self._campaign_view(campaign, stats.get(campaign.id, PacingStats())))
                except ValueError as exc:
                    _logger.warning("Campaign %s cannot be dialled: %s", campaign.display_name, exc)
            return views

    def _campaign_view(self, campaign, stats):
        return CampaignView(
            id=campaign.id,
            type=CampaignType(campaign.campaign_type),
            server_id=self.server_id,
            window=CallingWindow(
                tz=campaign.tz or "UTC",
                date_start=campaign.date_start or None,
                date_end=campaign.date_end or None,
                daily_window=campaign.use_time_window,
                hour_start=campaign.time_start if campaign.use_time_window else 0.0,
                hour_end=campaign.time_end if campaign.use_time_window else 24.0,
                weekdays=frozenset(i for i, day in enumerate(WEEKDAYS) if campaign[day]),
                legal_hours=(8.0, 21.0) if campaign.enforce_legal_hours else None,
            ),
            caller_id_number=campaign.caller_id_number or "",
            caller_id_name=campaign.caller_id_name or "",
            dial_timeout=campaign.dial_timeout,
            agent_ring_timeout=campaign.agent_ring_timeout,
            max_attempts=campaign.max_attempts,
            retry_delays=RetryDelays(
                busy=timedelta(minutes=campaign.retry_delay_busy),
                no_answer=timedelta(minutes=campaign.retry_delay_no_answer),
                failed=timedelta(minutes=campaign.retry_delay_failed),
            ),
            max_wait=campaign.max_wait,
            hold_message=campaign.hold_message or None,
            abandon_message=campaign.abandon_message or None,
            pacing=PacingPolicy(
                max_ratio=campaign.max_dial_ratio, abandon_cap=max(campaign.abandon_rate_cap, 0.01) / 100.0
            ),
            stats=stats,
        )

    def _pacing_stats(self, env, campaign_ids, now):
        if not campaign_ids:
            return {}
        env.cr.execute(
            SQL(
                """
                SELECT campaign_id,
                       count(*) FILTER (WHERE outcome NOT IN ('agent_no_answer', 'unknown')),
                       count(*) FILTER (WHERE outcome IN ('answered', 'abandoned')),
                       count(*) FILTER (WHERE outcome = 'abandoned')
                  FROM outbound_call
                 WHERE campaign_id = ANY(%s) AND state = 'ended' AND end_at >= %s
              GROUP BY campaign_id
                """,
                campaign_ids,
                naive(now - PACING_WINDOW),
            )
        )
        return {cid: PacingStats(*counts) for cid, *counts in env.cr.fetchall()}

    def load_ready_agents(self, campaign_ids, env=None):
        """Agents ready to take a call, with the running campaigns of this server they serve."""
        if not campaign_ids:
            return []

        def work(env):
            env.cr.execute(
                SQL(
                    """
                    SELECT a.id, a.channel, a.state_changed_at, array_agg(r.campaign_id)
                      FROM outbound_agent a
                      JOIN outbound_campaign_agent_rel r ON r.agent_id = a.id
                     WHERE a.active AND a.state = 'ready' AND r.campaign_id = ANY(%s)
                  GROUP BY a.id
                    """,
                    list(campaign_ids),
                )
            )
            agents = []
            for agent_id, channel, since, campaigns in env.cr.fetchall():
                try:
                    ready_since = utc(since) or datetime.min.replace(tzinfo=timezone.utc)
                    agents.append(AgentView(agent_id, channel, frozenset(campaigns), ready_since))
                except ValueError as exc:
                    _logger.warning("Agent %s cannot be called: %s", agent_id, exc)
            return agents

        return self._run(work, env)

    def due_contacts(self, limits, now, env=None):
        """Per campaign, up to ``limits[campaign_id]`` pending contacts due now, oldest due first.

        Served by the partial index ``outbound_contact_due_index``; no lock is taken here:
        :meth:`claim` locks what the engine chose.
        """

        def work(env):
            due = {}
            for campaign_id, limit in limits.items():
                if limit <= 0:
                    continue
                env.cr.execute(
                    SQL(
                        """
                        SELECT id, phone_e164, attempt_count, tz
                          FROM outbound_contact
                         WHERE campaign_id = %s AND state = 'pending'
                           AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
                      ORDER BY campaign_id, next_attempt_at NULLS FIRST, id
                         LIMIT %s
                        """,
                        campaign_id,
                        naive(now),
                        limit,
                    )
                )
                due[campaign_id] = [
                    ContactView(cid, campaign_id, e164 or "", attempts, tz or None)
                    for cid, e164, attempts, tz in env.cr.fetchall()
                ]
            return due

        return self._run(work, env) if limits else {}

    def load_open_calls(self):
        """Calls of this server not ended: what a restarted host must reconcile."""
        with self.env() as env:
            calls = env["outbound.call"].search(
                [("state", "!=", "ended"), ("campaign_id.dialer_server_id", "=", self.server_id)]
            )
            views = []
            for call in calls:
                views.append(
                    CallView(
                        uuid=call.uuid,
                        campaign_id=call.campaign_id.id,
                        contact_id=call.contact_id.id,
                        server_id=self.server_id,
                        campaign_type=CampaignType(call.campaign_id.campaign_type),
                        agent_id=call.agent_id.id or None,
                        state=CallState(call.state),
                        queued_at=utc(call.start_at),
                        originated_at=utc(call.start_at) if call.state != "queued" else None,
                        answered_at=utc(call.answer_at),
                        connected_at=utc(call.connect_at),
                    )
                )
            return views, {contact.id: self._contact_view(contact) for contact in calls.contact_id}

    def load_contact(self, contact_id):
        with self.env() as env:
            return self._contact_view(env["outbound.contact"].browse(contact_id))

    @staticmethod
    def _contact_view(contact):
        return ContactView(
            contact.id,
            contact.campaign_id.id,
            contact.phone_e164 or "",
            contact.attempt_count,
            contact.tz or None,
        )

    # -- writing what the engine decided -------------------------------------------------------

    def claim(self, orders, contacts, env=None):
        """Lock the chosen contacts, mark them in progress and commit a queued call row for each.

        Returns the orders whose contact this host got; a contact locked or already taken by
        another host is skipped, never dialled twice.
        """
        if not orders:
            return []
        by_contact = {order.call.contact_id: order for order in orders}

        def work(env):
            env.cr.execute(
                SQL(
                    """
                    UPDATE outbound_contact
                       SET state = 'in_progress', write_date = now() AT TIME ZONE 'UTC', write_uid = %s
                     WHERE id IN (SELECT id FROM outbound_contact
                                   WHERE id = ANY(%s) AND state = 'pending'
                                     FOR UPDATE SKIP LOCKED)
                 RETURNING id
                    """,
                    SUPERUSER_ID,
                    list(by_contact),
                )
            )
            claimed = [by_contact[row[0]] for row in env.cr.fetchall()]
            if claimed:
                # Set-based: the ORM's create costs more than the whole rest of a dialling turn.
                env.cr.execute(
                    SQL(
                        """
                        INSERT INTO outbound_call (uuid, campaign_id, company_id, contact_id, agent_id, attempt_number,
                                                   phone_e164, state, start_at, create_uid, write_uid, create_date,
                                                   write_date)
                        SELECT v.uuid, v.campaign_id, c.company_id, v.contact_id, v.agent_id, v.attempt, v.phone,
                               'queued', v.start_at, %s, %s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
                          FROM (VALUES %s) AS v(uuid, campaign_id, contact_id, agent_id, attempt, phone, start_at)
                          JOIN outbound_campaign c ON c.id = v.campaign_id
                        """,
                        SUPERUSER_ID,
                        SUPERUSER_ID,
                        SQL(", ").join(
                            SQL(
                                "(%s, %s::int, %s::int, %s::int, %s::int, %s, %s::timestamp)",
                                order.call.uuid,
                                order.call.campaign_id,
                                order.call.contact_id,
                                order.call.agent_id,
                                contacts[order.call.contact_id].attempts + 1,
                                contacts[order.call.contact_id].e164,
                                naive(order.call.queued_at),
                            )
                            for order in claimed
                        ),
                    )
                )
            agents = [order.call.agent_id for order in claimed if order.call.agent_id]
            if agents:
                self._set_agents(env, agents, "ringing")
            return claimed

        return self._run(work, env)

    def _set_agents(self, env, agent_ids, state, no_answer=False):
        env.cr.execute(
            SQL(
                """UPDATE outbound_agent
                      SET state = %s, pause_reason_id = CASE WHEN %s THEN (%s) END,
                          state_changed_at = now() AT TIME ZONE 'UTC'
                    WHERE id = ANY(%s)""",
                state,
                no_answer,
                NO_ANSWER_REASON,
                list(agent_ids),
            )
        )

    def connect_agent(self, call, env=None):
        """Client first: an agent is being rung for a customer waiting on hold."""

        def work(env):
            env["outbound.call"].search([("uuid", "=", call.uuid)]).agent_id = call.agent_id
            self._set_agents(env, [call.agent_id], "ringing")

        self._run(work, env)

    def apply_skips(self, skips, env=None):
        """Contacts the engine could not dial now: due later, or failed for an invalid number."""
        if not skips:
            return

        def work(env):
            Contact = env["outbound.contact"]
            for skip in skips:
                contact = Contact.browse(skip.contact_id)
                if skip.reason == "invalid_number":
                    contact.write({"state": "failed", "last_outcome": "invalid_number"})
                elif skip.next_attempt_at is None:
                    contact.write({"state": "cancelled"})
                else:
                    contact.write({"next_attempt_at": naive(skip.next_attempt_at)})

        self._run(work, env)

    def record_batch(self, progress, results, paused_agents=(), freed_agents=(), env=None):
        """One transaction for a turn of the loop: calls that moved on, calls that ended with
        their contact's next step, agents to pause. Set-based: a busy turn stores hundreds."""

        def work(env):
            cr = env.cr
            if progress:
                cr.execute(
                    SQL(
                        """UPDATE outbound_call c
                              SET state = v.state, answer_at = v.answer_at, connect_at = v.connect_at,
                                  agent_id = v.agent_id, write_date = now() AT TIME ZONE 'UTC'
                             FROM (VALUES %s) AS v(uuid, state, answer_at, connect_at, agent_id)
                            WHERE c.uuid = v.uuid AND c.state != 'ended'""",
                        SQL(", ").join(
                            SQL(
                                "(%s, %s, %s::timestamp, %s::timestamp, %s::int)",
                                call.uuid,
                                call.state.value,
                                naive(call.answered_at),
                                naive(call.connected_at),
                                call.agent_id,
                            )
                            for call in progress
                        ),
                    )
                )
                on_line = {
                    call.agent_id: call.uuid for call in progress if call.agent_id and call.agent_answered_at
                }
                if on_line:
                    cr.execute(
                        SQL(
                            """UPDATE outbound_agent a
                                  SET state = 'on_call', state_changed_at = now() AT TIME ZONE 'UTC',
                                      current_call_id = (SELECT id FROM outbound_call WHERE uuid = v.uuid)
                                 FROM (VALUES %s) AS v(agent_id, uuid)
                                WHERE a.id = v.agent_id AND a.state = 'ringing'""",
                            SQL(", ").join(
                                SQL("(%s::int, %s)", agent, uuid) for agent, uuid in on_line.items()
                            ),
                        )
                    )
            if results:
                self._store_results(cr, results)
            if paused_agents:
                self._set_agents(env, list(paused_agents), "paused", no_answer=True)
            if freed_agents:
                self._set_agents(env, list(freed_agents), "ready")

        self._run(work, env)

    def _store_results(self, cr, results):
        cr.execute(
            SQL(
                """UPDATE outbound_call c
                      SET state = 'ended', outcome = v.outcome, originate_reason = v.reason,
                          hangup_cause = v.cause, dial_status = v.dial_status, answer_at = v.answer_at,
                          connect_at = v.connect_at, end_at = v.end_at, ring_duration = v.ring,
                          wait_duration = v.wait, talk_duration = v.talk, agent_id = v.agent_id,
                          write_date = now() AT TIME ZONE 'UTC'
                     FROM (VALUES %s) AS v(uuid, outcome, reason, cause, dial_status, answer_at, connect_at,
                                           end_at, ring, wait, talk, agent_id)
                    WHERE c.uuid = v.uuid AND c.state != 'ended'
                RETURNING c.uuid""",
                SQL(", ").join(
                    SQL(
                        "(%s, %s, %s, %s, %s, %s::timestamp, %s::timestamp, %s::timestamp, %s::int, %s::int,"
                        " %s::int, %s::int)",
                        result.uuid,
                        result.outcome.value,
                        None if result.reason is None else str(result.reason),
                        None if result.cause is None else str(result.cause),
                        result.dial_status,
                        naive(result.answered_at),
                        naive(result.connected_at),
                        naive(result.ended_at),
                        round(result.ring_seconds or 0),
                        round(result.wait_seconds or 0),
                        round(result.talk_seconds or 0),
                        result.agent_id,
                    )
                    for result, _decision, _pause in results
                ),
            )
        )
        # A call already ended (stored by a host that held the server before) keeps its outcome,
        # and its contact is not moved back: the new holder may have dialled it since.
        stored = {uuid for (uuid,) in cr.fetchall()}
        results = [item for item in results if item[0].uuid in stored]
        if not results:
            return
        cr.execute(
            SQL(
                """UPDATE outbound_contact k
                      SET state = v.state, attempt_count = v.attempts, last_outcome = v.outcome,
                          next_attempt_at = v.next_at, write_date = now() AT TIME ZONE 'UTC'
                     FROM (VALUES %s) AS v(id, state, attempts, outcome, next_at)
                    WHERE k.id = v.id""",
                SQL(", ").join(
                    SQL(
                        "(%s::int, %s, %s::int, %s, %s::timestamp)",
                        decision.contact_id,
                        # Pending with no time left in the campaign's dates: it will not be called.
                        "cancelled"
                        if decision.state.value == "pending" and decision.next_attempt_at is None
                        else decision.state.value,
                        decision.attempts,
                        decision.last_outcome.value,
                        naive(decision.next_attempt_at),
                    )
                    for _result, decision, _pause in results
                ),
            )
        )
        paused = [pause for _result, _decision, pause in results if pause]
        freed = [result.agent_id for result, _decision, pause in results if result.agent_id and not pause]
        if paused:
            cr.execute(
                SQL(
                    """UPDATE outbound_agent
                          SET state = 'paused', pause_reason_id = (%s), current_call_id = NULL,
                              state_changed_at = now() AT TIME ZONE 'UTC'
                        WHERE id = ANY(%s)""",
                    NO_ANSWER_REASON,
                    paused,
                )
            )
        if freed:
            cr.execute(
                SQL(
                    """UPDATE outbound_agent
                          SET state = 'ready', current_call_id = NULL, state_changed_at = now() AT TIME ZONE 'UTC'
                        WHERE id = ANY(%s) AND state IN ('ringing', 'on_call')""",
                    freed,
                )
            )

"""The database side of the dialer host, in short transactions.

Nothing here holds a cursor across a network wait. The lease, the heartbeat and the loading of the
server, the campaigns and the calls open a transaction of their own (:meth:`DialerStore.env`);
the reads and writes of a dialling turn take the ``env`` of the one short transaction the runner
opens for the turn. Contacts are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and their call
rows are committed before any Originate is sent, so a crash can lose no call.

What a turn changed (agents whose state moved, campaigns whose calls, contacts, agents or dialing
status moved) is gathered in :attr:`DialerStore.changes`, for the host's live notifications.
"""

import hashlib
import logging
import os
import re
import secrets
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import psycopg2
from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

from .. import call_note, do_not_call
from ..dialer import agent_state
from ..dialer.device_state import device_of, is_local
from ..dialer.outcomes import CampaignType, Outcome
from ..dialer.pacing import PacingStats
from ..dialer.schedule import ABANDON_NO_RECALL, naive, utc
from ..dialer.views import (
    AgentView,
    CallState,
    CallView,
    ContactView,
    DialerServerView,
)

_logger = logging.getLogger(__name__)

#: Errors after which a transaction is simply run again: another one won the rows it wanted.
TRANSIENT_DB_ERRORS = (pg_errors.SerializationFailure, pg_errors.LockNotAvailable, pg_errors.DeadlockDetected)
#: Joined to the contacts ``k`` a query reads: ``dnc.listed`` is true when the contact's number is on
#: a do-not-call list (its company's or Odoo's phone blacklist).
DO_NOT_CALL = do_not_call.listed_join("k")
#: The campaign's columns :meth:`DialerStore.write_statuses` writes at every few calls: what the
#: host shows of its dialling, never read into a campaign's view.
DIALING_STATUS_COLUMNS = ("dialing_status", "dialing_status_until", "dial_ratio", "dialing_status_at")
#: The pause reason the dialer sets on an agent who does not answer.
NO_ANSWER_REASON = SQL(
    "SELECT res_id FROM ir_model_data WHERE module = 'outbound_campaign' AND name = 'pause_reason_no_answer'"
)


def last_abandon(now):
    """Joined to the contacts ``k`` a query reads: ``abandon.end_at``, the end of the last call to
    the contact's number in its company abandoned within the 72 h before ``now`` (the rule holds
    per number, whichever contact holds it; the engine applies it). One probe of
    ``outbound_call_abandoned_index`` per contact read."""
    return SQL(
        """LEFT JOIN LATERAL (SELECT a.end_at FROM outbound_call a
                               WHERE a.company_id = k.company_id AND a.phone_e164 = k.phone_e164
                                 AND a.outcome = 'abandoned' AND a.end_at > %s
                            ORDER BY a.end_at DESC LIMIT 1) abandon ON true""",
        naive(now - ABANDON_NO_RECALL),
    )


#: A lease holder: ``kind@hostname:pid/locality.token``. The random token makes it unique per
#: process (two containers may both run the dialer as PID 1 under one hostname); hostname and pid
#: are there for people to read and, with the locality, to tell a dead process of this machine.
HOLDER = re.compile(r"^[^@]*@[^:]*:(?P<pid>\d+)/(?P<locality>[^.]*)\.\w+$")


def pid_locality():
    """Where a pid names a process: this boot of the kernel and this PID namespace (hashed short).
    A process in another container or on another machine never shares it; None when it cannot be
    told, and then no other process is ever declared dead."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot_id:
            boot = boot_id.read().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
    return hashlib.sha256(f"{boot}:{namespace}".encode()).hexdigest()[:12]


def host_identity(kind):
    """A new holder identity, unique to this process (see HOLDER)."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}/{pid_locality() or '-'}.{secrets.token_hex(8)}"


class LeaseLost(Exception):
    """This host no longer holds an unexpired lease of its server: it must write nothing more."""


@dataclass
class Changes:
    """What the writes of one transaction changed: agents whose state moved (their consoles are
    told), campaigns whose figures moved (the managers' dashboards are told)."""

    agents: set = field(default_factory=set)
    campaigns: set = field(default_factory=set)

    def clear(self):
        self.agents.clear()
        self.campaigns.clear()


def _ringing(call_id):
    """The SET of an agent being rung: ``ringing``, the call ``call_id`` (a column) as their current
    call (the console pops its contact from now on)."""
    return SQL(
        "state = 'ringing', current_call_id = %s, wrap_up_until = NULL, state_changed_at = now() AT TIME ZONE 'UTC'",
        call_id,
    )


class DialerStore:
    """The dialer's view of the database for one dialer server."""

    def __init__(self, registry, server_id, holder):
        self.registry = registry
        self.server_id = server_id
        self.holder = holder
        self.changes = Changes()
        self._fenced = None  # the cursor of the transaction whose lease is checked (fenced)
        self._turn_cr = None  # the dialling turns' cursor, kept from turn to turn
        self._dialable = {}  # running campaign id -> (row version, CampaignView) at the last load

    @property
    def one_connection(self):
        """The registry is in test mode: every cursor is a savepoint of the test's one connection,
        which the test's own thread uses without a lock."""
        return self.registry.test_cr is not None

    @contextmanager
    def env(self):
        """A short transaction, committed on success, retried by the caller on serialization failure."""
        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {})

    @contextmanager
    def turn_env(self):
        """A dialling turn's transaction, like :meth:`env`, on a cursor kept from turn to turn
        (as Odoo's cron keeps its own): a cursor borrowed from the pool costs a round trip at
        every turn (the connection's reset). Rolled back on failure; one whose connection broke
        is closed, the next turn opens another."""
        if self.one_connection:  # tests: a cursor of the test's one connection per turn
            with self.env() as env:
                yield env
            return
        if self._turn_cr is None:
            self._turn_cr = self.registry.cursor()
        cr = self._turn_cr
        try:
            yield api.Environment(cr, SUPERUSER_ID, {})
            # The host owns its transactions: no request wraps them.
            cr.commit()  # pylint: disable=invalid-commit
        except BaseException:
            try:
                cr.rollback()
            except psycopg2.Error:
                self.close_turn_cursor()
            raise

    def close_turn_cursor(self):
        """Give the turns' connection back to the pool (the host stops, or it broke)."""
        cr, self._turn_cr = self._turn_cr, None
        if cr is not None:
            try:
                cr.close()
            except psycopg2.Error:  # a broken connection: the pool drops it
                _logger.info("The dialling turns' connection was already closed")

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

        # A serialization failure means another transaction touched the row (a manager's edit,
        # a standby's attempt): run again, it says nothing of who holds the lease.
        return self._retrying(work)

    def _dead_local_holders(self, env):
        """Holders that were processes of this boot and PID namespace and are gone (killed): their
        lease is void. A pid seen from another namespace or machine says nothing: never dead."""
        env.cr.execute(SQL("SELECT holder FROM outbound_dialer_server WHERE id = %s", self.server_id))
        row = env.cr.fetchone()
        match = HOLDER.match((row and row[0]) or "")
        locality = pid_locality()
        if not match or not locality or match["locality"] != locality or int(match["pid"]) == os.getpid():
            return []
        holder, pid = match.group(0), match["pid"]
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return [holder]
        except PermissionError:
            return []
        return []

    def check_lease(self, env):
        """Fencing: raise :class:`LeaseLost` unless this host holds an unexpired lease of the
        server. The row stays locked (``FOR SHARE``) until ``env``'s transaction ends, so no other
        host takes the lease while this one writes in it; inside :meth:`fenced`, already done."""
        if env.cr is self._fenced:
            return
        env.cr.execute(
            SQL(
                """SELECT 1 FROM outbound_dialer_server
                    WHERE id = %s AND holder = %s AND lease_until > (now() AT TIME ZONE 'UTC')
                      FOR SHARE""",
                self.server_id,
                self.holder,
            )
        )
        if not env.cr.fetchone():
            raise LeaseLost(f"{self.holder} no longer holds dialer server {self.server_id}")

    @contextmanager
    def fenced(self, env):
        """Check the lease once for the rest of ``env``'s transaction (a dialling turn): the
        writes made within need not check it again, the row stays locked until the commit."""
        self.check_lease(env)
        self._fenced = env.cr
        try:
            yield
        finally:
            self._fenced = None

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
                "recordings_directory": server.recordings_directory or "",
            }
            return view, link

    def load_campaigns(self, now, ids=None):
        """Running campaigns of the server (or the campaigns ``ids``, whatever their state), with
        their pacing counts over the window.

        The running campaigns' views are kept between two loads and built again only for a
        campaign whose row changed since, the dialing status this host writes aside (a view reads
        nothing but the campaign's own fields, and never that status): at 50 campaigns, building
        them all took a tenth of a second of a turn, and the statuses change every few calls."""
        with self.env() as env:
            Campaign = env["outbound.campaign"]
            if ids is None:  # an archived campaign stops dialling
                campaigns = Campaign.search(
                    [("state", "=", "running"), ("dialer_server_id", "=", self.server_id)]
                )
                # The row's version: a digest of its columns but the status, whoever wrote them.
                env.cr.execute(
                    SQL(
                        "SELECT id, md5((to_jsonb(c) - %s::text[])::text) FROM outbound_campaign c WHERE id = ANY(%s)",
                        list(DIALING_STATUS_COLUMNS),
                        campaigns.ids,
                    )
                )
                versions = dict(env.cr.fetchall())
                self._dialable = {cid: known for cid, known in self._dialable.items() if cid in versions}
            else:  # the calls in flight of an archived campaign still end properly
                Campaign = Campaign.with_context(active_test=False)
                campaigns = Campaign.browse(ids).exists()
            stats = env["outbound.campaign.counter"]._pacing_stats(campaigns.ids, now)
            views = []
            for campaign in campaigns:
                counts = stats.get(campaign.id, PacingStats())
                known = self._dialable.get(campaign.id) if ids is None else None
                if known is not None and known[0] == versions[campaign.id]:
                    views.append(replace(known[1], stats=counts))
                    continue
                try:
                    view = campaign._dialer_view(self.server_id, counts)
                    if ids is None:  # to dial; calls in flight end whatever the campaign became
                        view.check_dialable()
                        self._dialable[campaign.id] = (versions[campaign.id], view)
                    views.append(view)
                except ValueError as exc:
                    _logger.warning("Campaign %s cannot be dialled: %s", campaign.display_name, exc)
            return views

    def load_ready_agents(self, env, campaign_ids):
        """Agents ready to take a call who serve the running campaigns ``campaign_ids`` of this
        server, with those campaigns and the running campaigns of other servers they serve: one
        pool of agents for all (see :meth:`calls_wanting_agents_elsewhere`)."""
        if not campaign_ids:
            return []
        env.cr.execute(
            SQL(
                """
                SELECT a.id, a.channel, a.state_changed_at, array_agg(r.campaign_id)
                  FROM outbound_agent a
                  JOIN outbound_campaign_agent_rel r ON r.agent_id = a.id
                  JOIN outbound_campaign c ON c.id = r.campaign_id
                 WHERE a.active AND a.state = 'ready'
                   AND (c.id = ANY(%(ours)s)
                        OR (c.active AND c.state = 'running' AND c.dialer_server_id != %(server)s))
              GROUP BY a.id
                HAVING bool_or(c.id = ANY(%(ours)s))
                """,
                ours=list(campaign_ids),
                server=self.server_id,
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

    def calls_wanting_agents_elsewhere(self, env, campaign_ids):
        """Client-first calls not yet with an agent of the campaigns ``campaign_ids`` of other
        servers (the campaigns our ready agents also serve) whose host holds its lease: they will
        want the agents they share with ours. A lapsed lease leaves nobody to send them an agent."""
        if not campaign_ids:
            return []
        env.cr.execute(
            SQL(
                """
                SELECT k.uuid, k.campaign_id, k.contact_id, c.dialer_server_id, k.state
                  FROM outbound_call k
                  JOIN outbound_campaign c ON c.id = k.campaign_id
                  JOIN outbound_dialer_server s ON s.id = c.dialer_server_id
                 WHERE k.campaign_id = ANY(%s) AND c.dialer_server_id != %s
                   AND k.state IN ('queued', 'originating', 'ringing', 'answered')
                   AND k.agent_id IS NULL AND k.dial_mode = 'client_first'
                   AND s.lease_until > now() AT TIME ZONE 'UTC'
                """,
                list(campaign_ids),
                self.server_id,
            )
        )
        return [
            CallView(
                uuid,
                campaign_id,
                contact_id,
                server_id,
                CampaignType.CLIENT_FIRST,
                state=CallState(state),
            )
            for uuid, campaign_id, contact_id, server_id, state in env.cr.fetchall()
        ]

    def due_contacts(self, env, limits, now):
        """Per campaign, up to ``limits[campaign_id]`` pending contacts due now, oldest due first,
        not reserved for an agent (:meth:`reserved_contacts`) and not on the company's do-not-call
        list (those are marked ``dnc`` here, in the same transaction, and never dialled), each
        with the last abandoned call to its number within 72 h (:func:`last_abandon`).

        One statement for every campaign (a turn at 50 campaigns would otherwise wait for 50
        round trips): a ``LATERAL`` scan of the partial index ``outbound_contact_due_index`` per
        campaign, up to its limit. No lock is taken here: :meth:`claim` locks what the engine chose.

        The largest limit, a constant, bounds each scan too: with only the per-campaign limit (a
        column) the planner guesses a tenth of a campaign's contacts, and at a million contacts
        that guess costs the statement enough to be JIT-compiled, 200 ms for ten rows.
        """
        limits = {campaign_id: limit for campaign_id, limit in limits.items() if limit > 0}
        if not limits:
            return {}
        env.cr.execute(
            SQL(
                """
                SELECT k.campaign_id, k.id, k.phone_e164, k.attempt_count, k.tz, dnc.listed, abandon.end_at
                  FROM unnest(%s::int[], %s::int[]) AS wanted(campaign_id, due_limit)
                  CROSS JOIN LATERAL (
                        SELECT * FROM (
                            SELECT id, campaign_id, company_id, phone_e164, attempt_count, tz, next_attempt_at
                              FROM outbound_contact
                             WHERE campaign_id = wanted.campaign_id AND state = 'pending'
                               AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
                               AND assigned_agent_id IS NULL
                          ORDER BY campaign_id, next_attempt_at NULLS FIRST, id
                             LIMIT %s) most
                         LIMIT wanted.due_limit) k
                  %s %s
              ORDER BY k.campaign_id, k.next_attempt_at NULLS FIRST, k.id
                """,
                list(limits),
                list(limits.values()),
                naive(now),
                max(limits.values()),
                DO_NOT_CALL,
                last_abandon(now),
            )
        )
        due, banned = {campaign_id: [] for campaign_id in limits}, []
        for campaign_id, cid, e164, attempts, tz, listed, abandoned_at in env.cr.fetchall():
            if listed:
                banned.append(cid)
            else:
                due[campaign_id].append(
                    ContactView(
                        cid,
                        campaign_id,
                        e164 or "",
                        attempts,
                        tz or None,
                        abandoned_at=utc(abandoned_at),
                    )
                )
        self._mark_do_not_call(env, banned)
        return due

    def reserved_contacts(self, env, agent_ids, campaign_ids, now):
        """Per agent, their reserved contacts due now in the campaigns ``campaign_ids`` (a call back,
        a previewed contact they chose), oldest due first; do-not-call numbers marked ``dnc``.
        Served by the index on ``assigned_agent_id`` (reserved contacts are few). They are dialled
        agent first, with their agent on the line: the 72 h after an abandoned call to their number
        do not hold them back (Ofcom), so no abandon is looked up."""
        if not agent_ids or not campaign_ids:
            return {}
        env.cr.execute(
            SQL(
                """
                SELECT k.id, k.campaign_id, k.phone_e164, k.attempt_count, k.tz, k.assigned_agent_id, dnc.listed
                  FROM outbound_contact k %s
                 WHERE k.assigned_agent_id = ANY(%s) AND k.campaign_id = ANY(%s) AND k.state = 'pending'
                   AND (k.next_attempt_at IS NULL OR k.next_attempt_at <= %s)
              ORDER BY k.next_attempt_at NULLS FIRST, k.id
                """,
                DO_NOT_CALL,
                list(agent_ids),
                list(campaign_ids),
                naive(now),
            )
        )
        reserved, banned = {}, []
        for cid, campaign_id, e164, attempts, tz, agent_id, listed in env.cr.fetchall():
            if listed:
                banned.append(cid)
                continue
            contact = ContactView(cid, campaign_id, e164 or "", attempts, tz or None, agent_id)
            reserved.setdefault(agent_id, []).append(contact)
        self._mark_do_not_call(env, banned)
        return reserved

    def _mark_do_not_call(self, env, contact_ids):
        """Due contacts whose number is on a do-not-call list: ``dnc``, never dialled."""
        if not contact_ids:
            return
        env.cr.execute(
            SQL(
                """UPDATE outbound_contact
                      SET state = 'dnc', write_date = now() AT TIME ZONE 'UTC', write_uid = %s
                    WHERE id = ANY(%s) AND state = 'pending'
                RETURNING campaign_id""",
                SUPERUSER_ID,
                contact_ids,
            )
        )
        self.changes.campaigns.update(row[0] for row in env.cr.fetchall())

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
                        # A reserved call is dialled agent first whatever its campaign's type.
                        campaign_type=CampaignType(call.dial_mode or call.campaign_id.campaign_type),
                        agent_id=call.agent_id.id or None,
                        reserved=bool(call.agent_id) and call.contact_id.assigned_agent_id == call.agent_id,
                        state=CallState(call.state),
                        queued_at=utc(call.start_at),
                        originated_at=utc(call.start_at) if call.state != "queued" else None,
                        answered_at=utc(call.answer_at),
                        connected_at=utc(call.connect_at),
                    )
                )
            return views, {contact.id: self._contact_view(contact) for contact in calls.contact_id}

    def load_contact(self, contact_id):
        """The contact's view; None if it was deleted."""
        with self.env() as env:
            contact = env["outbound.contact"].browse(contact_id).exists()
            return self._contact_view(contact) if contact else None

    @staticmethod
    def _contact_view(contact):
        return ContactView(
            contact.id,
            contact.campaign_id.id,
            contact.phone_e164 or "",
            contact.attempt_count,
            contact.tz or None,
            contact.assigned_agent_id.id or None,
        )

    # -- writing what the engine decided -------------------------------------------------------

    def claim(self, env, orders, contacts):
        """Lock the chosen contacts, mark them in progress and commit a queued call row for each;
        each agent of an agent-first call is ringing with that call as their current call.

        Returns the orders whose contact this host got; a contact locked or already taken by
        another host is skipped, never dialled twice. Only while this host holds the lease
        (:class:`LeaseLost` otherwise).
        """
        if not orders:
            return []
        by_contact = {order.call.contact_id: order for order in orders}
        self.check_lease(env)
        # One statement, one round trip (the turn waits for each): the contacts locked and marked,
        # a call row for each contact got, its agent ringing. The ORM's create would cost more
        # than the whole rest of a dialling turn.
        env.cr.execute(
            SQL(
                """
                WITH got AS (
                    UPDATE outbound_contact
                       SET state = 'in_progress', write_date = now() AT TIME ZONE 'UTC', write_uid = %s
                     -- Each contact locked as looked up by its key, its state checked once locked:
                     -- no plan can then use the due index (pending contacts only). Given the keys as
                     -- a list (= ANY, IN ()) or with the state, the planner scanned the whole table
                     -- or, its statistics not yet counting a list just loaded, the whole due index
                     -- once per key: 80 ms for 140 calls instead of 8. (LIMIT 1, the key being
                     -- unique, keeps the state test out of the lookup.)
                     WHERE id = ANY(ARRAY(SELECT locked.id FROM unnest(%s::int[]) AS wanted(id),
                                          LATERAL (SELECT id, state FROM outbound_contact
                                                    WHERE id = wanted.id
                                                      FOR UPDATE SKIP LOCKED LIMIT 1) locked
                                           WHERE locked.state = 'pending'))
                 RETURNING id
                ), called AS (
                    INSERT INTO outbound_call (uuid, campaign_id, company_id, contact_id, agent_id,
                                               attempt_number, phone_e164, dial_mode, state, start_at,
                                               create_uid, write_uid, create_date, write_date)
                    SELECT v.uuid, v.campaign_id, c.company_id, v.contact_id, v.agent_id, v.attempt, v.phone,
                           v.dial_mode, 'queued', v.start_at, %s, %s, now() AT TIME ZONE 'UTC',
                           now() AT TIME ZONE 'UTC'
                      FROM (VALUES %s) AS v(uuid, campaign_id, contact_id, agent_id, attempt, phone, dial_mode,
                                            start_at)
                      JOIN got ON got.id = v.contact_id
                      JOIN outbound_campaign c ON c.id = v.campaign_id
                 RETURNING id, contact_id, agent_id
                ), rung AS (
                    UPDATE outbound_agent a SET %s FROM called WHERE a.id = called.agent_id
                )
                SELECT contact_id FROM called
                """,
                SUPERUSER_ID,
                list(by_contact),
                SUPERUSER_ID,
                SUPERUSER_ID,
                SQL(", ").join(
                    SQL(
                        "(%s, %s::int, %s::int, %s::int, %s::int, %s, %s, %s::timestamp)",
                        order.call.uuid,
                        order.call.campaign_id,
                        order.call.contact_id,
                        order.call.agent_id,
                        contacts[order.call.contact_id].attempts + 1,
                        contacts[order.call.contact_id].e164,
                        order.call.campaign_type.value,
                        naive(order.call.queued_at),
                    )
                    for order in by_contact.values()
                ),
                _ringing(SQL.identifier("called", "id")),
            )
        )
        claimed = [by_contact[row[0]] for row in env.cr.fetchall()]
        self.changes.agents.update(order.call.agent_id for order in claimed if order.call.agent_id)
        self.changes.campaigns.update(order.call.campaign_id for order in claimed)
        return claimed

    def _ring_agents(self, env, calls_by_agent):
        """Agents being rung (``_ringing``)."""
        if not calls_by_agent:
            return
        env.cr.execute(
            SQL(
                """UPDATE outbound_agent a SET %s
                     FROM (VALUES %s) AS v(agent_id, call_id)
                    WHERE a.id = v.agent_id""",
                _ringing(SQL.identifier("v", "call_id")),
                SQL(", ").join(
                    SQL("(%s::int, %s::int)", agent, call) for agent, call in calls_by_agent.items()
                ),
            )
        )
        self.changes.agents.update(calls_by_agent)

    def write_shared_agents(self, env, agent_ids):
        """Write the rows of the agents a plan that places calls counted on and who serve other
        servers' campaigns too (``planning.Plan.shared_agents``), changing nothing. Under Odoo's
        REPEATABLE READ, the host of another server whose turn counted on one of them at the
        same time then fails to serialize (whichever writes second) and plans again on data that
        shows this turn's calls: no agent is counted by two servers for new calls."""
        if not agent_ids:
            return
        env.cr.execute(SQL("UPDATE outbound_agent SET state = state WHERE id = ANY(%s)", sorted(agent_ids)))

    def connect_agent(self, env, call):
        """Client first: an agent is being rung for a customer waiting on hold."""
        record = env["outbound.call"].search([("uuid", "=", call.uuid)])
        record.agent_id = call.agent_id
        self._ring_agents(env, {call.agent_id: record.id})
        self.changes.campaigns.add(call.campaign_id)

    def apply_skips(self, env, skips):
        """Contacts the engine could not dial now: due later, or failed for an invalid number."""
        if not skips:
            return
        Contact = env["outbound.contact"]
        for skip in skips:
            contact = Contact.browse(skip.contact_id)
            if skip.reason == "invalid_number":
                contact.write({"state": "failed", "last_outcome": "invalid_number"})
            elif skip.next_attempt_at is None:
                contact.write({"state": "cancelled"})
                if skip.reason == "no_common_hours":
                    contact.message_post(
                        body=env._(
                            "Not called: its number rings in several time zones (%s) whose "
                            "calling hours never overlap. Set the contact's time zone to call it.",
                            skip.detail,
                        )
                    )
            else:
                contact.write({"next_attempt_at": naive(skip.next_attempt_at)})
            self.changes.campaigns.add(contact.campaign_id.id)

    def record_batch(self, env, progress, finished, missed_agents=(), freed_agents=(), one_by_one=False):
        """In a turn's transaction: calls that moved on, calls that ended with their contact's
        and their agent's next step (``pending.FinishedCall``), agents who missed a call, agents
        to free. Only while this host holds the lease (:class:`LeaseLost` otherwise).

        Set-based: a busy turn stores hundreds, and a row PostgreSQL refuses fails the turn.
        The runner then stores them again ``one_by_one``: each row in a savepoint of its own, a
        row that truly cannot be stored is logged with its call's uuid and set aside, the others
        are stored. (A savepoint around every batch cost two round trips a turn.)"""
        self.check_lease(env)
        if one_by_one:
            self._record_one_by_one(env.cr, progress, finished, missed_agents, freed_agents)
        else:
            self._record(env.cr, progress, finished, missed_agents, freed_agents)

    def _record_one_by_one(self, cr, progress, finished, missed_agents, freed_agents):
        """Each row in a savepoint of its own. The agent of a result that cannot be stored is made
        ready all the same: neither the other rows nor that agent wait for it."""
        rows = [(f"of call {call.uuid}", ([call], [], (), ()), None) for call in progress]
        rows += [
            (f"of call {call.result.uuid}", ([], [call], (), ()), call.result.agent_id) for call in finished
        ]
        rows.append(("of the agents", ([], [], missed_agents, freed_agents), None))
        for label, row, agent_id in rows:  # grows while read: an agent to free is stored last
            try:
                with cr.savepoint(flush=False):
                    self._record(cr, *row)
            except TRANSIENT_DB_ERRORS:
                raise
            except psycopg2.Error as exc:
                _logger.error("Dialer row %s cannot be stored, set aside: %s", label, exc)
                if agent_id is not None:
                    rows.append((f"freeing agent {agent_id}", ([], [], (), (agent_id,)), None))

    def _record(self, cr, progress, finished, missed_agents, freed_agents):
        if progress:
            on_line = {
                call.agent_id: call.uuid for call in progress if call.agent_id and call.agent_answered_at
            }
            # One statement: the calls moved on, and each agent whose leg answered on the call,
            # the count of calls they missed in a row started again.
            cr.execute(
                SQL(
                    """WITH moved AS (
                           UPDATE outbound_call c
                              SET state = v.state, answer_at = v.answer_at, connect_at = v.connect_at,
                                  agent_id = a.id, write_date = now() AT TIME ZONE 'UTC'
                             FROM (VALUES %s) AS v(uuid, state, answer_at, connect_at, agent_id)
                        LEFT JOIN outbound_agent a ON a.id = v.agent_id -- deleted meanwhile: no agent
                            WHERE c.uuid = v.uuid AND c.state != 'ended'
                       ), on_line AS (
                           UPDATE outbound_agent a
                              SET state = 'on_call', state_changed_at = now() AT TIME ZONE 'UTC',
                                  missed_call_count = 0,
                                  current_call_id = (SELECT id FROM outbound_call WHERE uuid = v.uuid)
                             FROM unnest(%s::int[], %s::varchar[]) AS v(agent_id, uuid)
                            WHERE a.id = v.agent_id AND a.state = 'ringing'
                        RETURNING a.id
                       )
                       SELECT id FROM on_line""",
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
                    list(on_line),
                    list(on_line.values()),
                )
            )
            self.changes.agents.update(row[0] for row in cr.fetchall())
            self.changes.campaigns.update(call.campaign_id for call in progress)
        missed = set(missed_agents)
        if finished:
            missed |= self._store_results(cr, finished)
        if missed:
            self._record_misses(cr, missed)
        if freed_agents:
            self._set_agents_next(
                cr, [agent_state.AgentNext(agent, agent_state.READY) for agent in freed_agents]
            )

    def _store_results(self, cr, finished):
        """Ended calls: the call row, the contact's next step, the agent's next state. Returns the
        agents who missed their call (their count decides, in :meth:`_record_misses`).
        A result with no next step (its contact or campaign is gone) only frees its agent."""
        gone = [call.result for call in finished if call.decision is None]
        finished = [call for call in finished if call.decision is not None]
        if not finished:
            self._free_agents_of_deleted_calls(cr, gone)
            return set()
        # One statement, one round trip (the turn waits for each): the call rows ended, and the
        # contacts of the calls whose row was ended here moved to their next step. A call already
        # ended (stored by a host that held the server before) keeps its outcome, and its contact
        # is not moved back: the new holder may have dialled it since. A reserved call that
        # reached the customer's number is the promised call made: the reservation ends with it.
        # One the agent missed, or that dialled nothing, keeps it.
        cr.execute(
            SQL(
                """WITH ended AS (
                       UPDATE outbound_call c
                      SET state = 'ended', outcome = v.outcome, originate_reason = v.reason,
                          hangup_cause = v.cause, dial_status = v.dial_status, answer_at = v.answer_at,
                          connect_at = v.connect_at, end_at = v.end_at, ring_duration = v.ring,
                          wait_duration = v.wait, talk_duration = v.talk, agent_id = a.id,
                          amd_status = v.amd_status, amd_cause = v.amd_cause,
                          -- oc-record recorded the call from the connection on: the host fetches it
                          recording_state = CASE WHEN v.connect_at IS NOT NULL AND (
                              SELECT record_calls FROM outbound_campaign WHERE id = c.campaign_id
                          ) THEN 'pending' ELSE c.recording_state END,
                          write_date = now() AT TIME ZONE 'UTC'
                     FROM (VALUES %s) AS v(uuid, outcome, reason, cause, dial_status, answer_at, connect_at,
                                           end_at, ring, wait, talk, agent_id, amd_status, amd_cause)
                LEFT JOIN outbound_agent a ON a.id = v.agent_id -- deleted meanwhile: no agent
                    WHERE c.uuid = v.uuid AND c.state != 'ended'
                RETURNING c.uuid
                   ), moved AS (
                       UPDATE outbound_contact k
                          SET state = v.state, attempt_count = v.attempts, last_outcome = v.outcome,
                              next_attempt_at = v.next_at, write_date = now() AT TIME ZONE 'UTC',
                              assigned_agent_id = CASE WHEN v.release THEN NULL ELSE k.assigned_agent_id END
                         FROM (VALUES %s) AS v(uuid, id, state, attempts, outcome, next_at, release)
                         JOIN ended ON ended.uuid = v.uuid
                        WHERE k.id = v.id)
                   SELECT uuid FROM ended""",
                SQL(", ").join(
                    SQL(
                        "(%s, %s, %s, %s, %s, %s::timestamp, %s::timestamp, %s::timestamp, %s::int, %s::int,"
                        " %s::int, %s::int, %s, %s)",
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
                        result.amd_status,
                        result.amd_cause,
                    )
                    for result in (call.result for call in finished)
                ),
                SQL(", ").join(
                    SQL(
                        "(%s, %s::int, %s, %s::int, %s, %s::timestamp, %s)",
                        call.result.uuid,
                        call.decision.contact_id,
                        # Pending with no time left in the campaign's dates: it will not be called.
                        "cancelled"
                        if call.decision.state.value == "pending" and call.decision.next_attempt_at is None
                        else call.decision.state.value,
                        call.decision.attempts,
                        call.decision.last_outcome.value,
                        naive(call.decision.next_attempt_at),
                        call.result.reserved and call.result.customer_dialled,
                    )
                    for call in finished
                ),
            )
        )
        stored = {uuid for (uuid,) in cr.fetchall()}
        self._free_agents_of_deleted_calls(
            cr, gone + [call.result for call in finished if call.result.uuid not in stored]
        )
        finished = [call for call in finished if call.result.uuid in stored]
        if not finished:
            return set()
        self.changes.campaigns.update(call.result.campaign_id for call in finished)
        self._set_agents_next(cr, [call.agent_next for call in finished if call.agent_next])
        self._log_on_partners(
            cr, [call.result.uuid for call in finished if call.result.outcome == Outcome.ANSWERED]
        )
        return {call.result.agent_id for call in finished if call.agent_missed and call.result.agent_id}

    def _log_on_partners(self, cr, uuids):
        """A note on the partner's chatter for each call a customer answered, written with the
        result: one read, one INSERT. The disposition and the agent's note join it when recorded
        (``outbound.call._log_disposition_on_partner``)."""
        if not uuids:
            return
        cr.execute(
            SQL(
                """SELECT c.id, c.uuid, k.partner_id, k.company_id, cp.name, c.talk_duration, a.name,
                          u.partner_id, (SELECT res_id FROM ir_model_data
                                          WHERE module = 'mail' AND name = 'mt_note')
                     FROM outbound_call c
                     JOIN outbound_contact k ON k.id = c.contact_id AND k.partner_id IS NOT NULL
                     JOIN outbound_campaign cp ON cp.id = c.campaign_id
                LEFT JOIN outbound_agent a ON a.id = c.agent_id
                LEFT JOIN res_users u ON u.id = a.user_id
                    WHERE c.uuid = ANY(%s)""",
                uuids,
            )
        )
        rows = cr.fetchall()
        if not rows:
            return
        env = api.Environment(cr, SUPERUSER_ID, {})
        cr.execute(
            SQL(
                """WITH note AS (
                       INSERT INTO mail_message (model, res_id, record_company_id, message_type, subtype_id,
                                                 is_internal, body, author_id, date, message_id,
                                                 create_uid, create_date, write_uid, write_date)
                       VALUES %s
                       RETURNING id, message_id)
                   UPDATE outbound_call c SET partner_message_id = note.id
                     FROM note WHERE note.message_id = %s || c.uuid""",
                SQL(", ").join(
                    SQL(
                        "('res.partner', %s, %s, 'comment', %s, true, %s, %s, now() AT TIME ZONE 'UTC', %s,"
                        " %s, now() AT TIME ZONE 'UTC', %s, now() AT TIME ZONE 'UTC')",
                        partner_id,
                        company_id,
                        subtype_id,
                        call_note.body(env, campaign, talk, agent),
                        author_id,
                        call_note.MESSAGE_ID_PREFIX + uuid,
                        SUPERUSER_ID,
                        SUPERUSER_ID,
                    )
                    for _id, uuid, partner_id, company_id, campaign, talk, agent, author_id, subtype_id in rows
                ),
                call_note.MESSAGE_ID_PREFIX,
            )
        )

    def _free_agents_of_deleted_calls(self, cr, unstored):
        """Results whose call row is gone (deleted with its contact or campaign): logged and set
        aside; their agents, left on no call (``current_call_id`` set null), are ready again."""
        if not unstored:
            return
        cr.execute(
            SQL("SELECT uuid FROM outbound_call WHERE uuid = ANY(%s)", [result.uuid for result in unstored])
        )
        kept = {uuid for (uuid,) in cr.fetchall()}
        deleted = [result for result in unstored if result.uuid not in kept]
        for result in deleted:
            _logger.error("Call %s ended but its row was deleted: result set aside", result.uuid)
        agents = [result.agent_id for result in deleted if result.agent_id]
        if not agents:
            return
        cr.execute(
            SQL(
                """UPDATE outbound_agent
                      SET state = 'ready', wrap_up_until = NULL, state_changed_at = now() AT TIME ZONE 'UTC'
                    WHERE id = ANY(%s) AND state IN ('ringing', 'on_call') AND current_call_id IS NULL
                RETURNING id""",
                agents,
            )
        )
        self.changes.agents.update(row[0] for row in cr.fetchall())

    def _record_misses(self, cr, agent_ids):
        """Agents who did not take the call they were rung for: one miss more each; the second
        in a row pauses them with the reason "No answer" (``agent_state.after_miss``)."""
        cr.execute(
            SQL(
                """SELECT id, missed_call_count FROM outbound_agent
                    WHERE id = ANY(%s) AND state IN ('ringing', 'on_call') FOR UPDATE""",
                list(agent_ids),
            )
        )
        self._set_agents_next(
            cr, [agent_state.after_miss(agent, count or 0) for agent, count in cr.fetchall()]
        )

    def _set_agents_next(self, cr, decisions):
        """Agents leaving a call (ringing or on it) for their next state: ready, wrap-up (keeping
        the call as their current call, for its disposition) or paused for not answering."""
        if not decisions:
            return
        cr.execute(
            SQL(
                """UPDATE outbound_agent a
                      SET state = v.state, wrap_up_until = v.until,
                          missed_call_count = COALESCE(v.missed, a.missed_call_count),
                          current_call_id = CASE WHEN v.keeps_call THEN a.current_call_id END,
                          pause_reason_id = CASE WHEN v.state = 'paused' THEN (%s) END,
                          state_changed_at = now() AT TIME ZONE 'UTC'
                     FROM (VALUES %s) AS v(agent_id, state, until, missed, keeps_call)
                    WHERE a.id = v.agent_id AND a.state IN ('ringing', 'on_call')
                RETURNING a.id""",
                NO_ANSWER_REASON,
                SQL(", ").join(
                    SQL(
                        "(%s::int, %s, %s::timestamp, %s::int, %s)",
                        decision.agent_id,
                        decision.state,
                        naive(decision.wrap_up_until),
                        decision.missed_in_a_row,
                        decision.keeps_call,
                    )
                    for decision in decisions
                ),
            )
        )
        self.changes.agents.update(row[0] for row in cr.fetchall())

    def end_wrap_ups(self, env, now):
        """Agents of this server's campaigns whose wrap-up is over: ready again."""
        env.cr.execute(
            SQL(
                """UPDATE outbound_agent
                      SET state = 'ready', wrap_up_until = NULL, current_call_id = NULL,
                          state_changed_at = now() AT TIME ZONE 'UTC'
                    WHERE state = 'wrap_up' AND wrap_up_until <= %s
                      AND id IN (SELECT r.agent_id FROM outbound_campaign_agent_rel r
                                   JOIN outbound_campaign c ON c.id = r.campaign_id
                                  WHERE c.dialer_server_id = %s)
                RETURNING id""",
                naive(now),
                self.server_id,
            )
        )
        self.changes.agents.update(row[0] for row in env.cr.fetchall())

    def record_device_states(self, env, states):
        """Store the phone state of the agents whose device is in ``states`` (``{device: state}``),
        only where it changed. Any channel but a Local one is its own device: those agents are
        matched on their channel in the UPDATE itself (one statement, the common case). A Local
        channel's device drops a dial option suffix: those agents are read and matched in Python
        through ``device_of``. Not an agent state change: the consoles are not told (a call rings
        them anyway)."""
        local = {device: state for device, state in states.items() if is_local(device)}
        own = {device: state for device, state in states.items() if device not in local}
        if own:
            env.cr.execute(
                SQL(
                    """UPDATE outbound_agent a SET device_state = v.state
                         FROM (VALUES %s) AS v(channel, state)
                        WHERE a.active AND a.channel = v.channel AND a.device_state IS DISTINCT FROM v.state""",
                    SQL(", ").join(SQL("(%s, %s)", device, state) for device, state in own.items()),
                )
            )
        if not local:
            return
        env.cr.execute(
            SQL("SELECT id, channel FROM outbound_agent WHERE active AND channel ILIKE %s", "local/%")
        )
        values = [
            (agent_id, local[device_of(channel)])
            for agent_id, channel in env.cr.fetchall()
            if device_of(channel) in local
        ]
        if not values:
            return
        env.cr.execute(
            SQL(
                """UPDATE outbound_agent a SET device_state = v.state
                     FROM (VALUES %s) AS v(agent_id, state)
                    WHERE a.id = v.agent_id AND a.device_state IS DISTINCT FROM v.state""",
                SQL(", ").join(SQL("(%s::int, %s)", agent_id, state) for agent_id, state in values),
            )
        )

    def write_statuses(self, env, statuses, now):
        """Write on the campaigns the dialing statuses given (``{campaign_id: (CampaignStatus,
        until)}``), stamped ``now``, where they differ from what is stored."""
        if not statuses:
            return
        env.cr.execute(
            SQL(
                """UPDATE outbound_campaign c
                      SET dialing_status = v.reason, dialing_status_until = v.until,
                          dial_ratio = v.ratio, dialing_status_at = %s
                     FROM (VALUES %s) AS v(id, reason, until, ratio)
                    WHERE c.id = v.id
                      AND (c.dialing_status, c.dialing_status_until, c.dial_ratio)
                          IS DISTINCT FROM (v.reason, v.until, v.ratio)
                RETURNING c.id""",
                naive(now),
                SQL(", ").join(
                    SQL(
                        "(%s::int, %s, %s::timestamp, %s::float)",
                        campaign_id,
                        status.reason,
                        naive(until),
                        status.dial_ratio,
                    )
                    for campaign_id, (status, until) in statuses.items()
                ),
            )
        )
        self.changes.campaigns.update(row[0] for row in env.cr.fetchall())

    def next_due(self, env, campaign_ids, now):
        """Per campaign, when its next pending contact falls due after ``now``: one statement, one
        probe of ``outbound_contact_due_index`` per campaign; campaigns with none are left out."""
        if not campaign_ids:
            return {}
        env.cr.execute(
            SQL(
                """SELECT wanted.campaign_id, k.next_attempt_at
                     FROM unnest(%s::int[]) AS wanted(campaign_id)
                     CROSS JOIN LATERAL (
                           SELECT next_attempt_at FROM outbound_contact
                            WHERE campaign_id = wanted.campaign_id AND state = 'pending'
                              AND next_attempt_at > %s
                         ORDER BY campaign_id, next_attempt_at NULLS FIRST, id
                            LIMIT 1) k""",
                list(campaign_ids),
                naive(now),
            )
        )
        return {campaign_id: utc(next_at) for campaign_id, next_at in env.cr.fetchall()}

    def campaigns_of_agents(self, env, agent_ids):
        """The campaigns the agents ``agent_ids`` serve."""
        if not agent_ids:
            return set()
        env.cr.execute(
            SQL(
                "SELECT DISTINCT campaign_id FROM outbound_campaign_agent_rel WHERE agent_id = ANY(%s)",
                list(agent_ids),
            )
        )
        return {row[0] for row in env.cr.fetchall()}

    # -- supervisors listening in (issue 13) ------------------------------------------------------

    def take_supervisions(self, env):
        """The supervisions asked for on this server's calls, marked sent: ``(id, supervisor
        channel, agent channel, mode)``. Sent once, never again (a supervisor asks anew)."""
        env.cr.execute(
            SQL(
                """UPDATE outbound_call_supervision s SET state = 'sent', write_date = now() at time zone 'UTC'
                     FROM outbound_call c JOIN outbound_campaign camp ON camp.id = c.campaign_id
                    WHERE s.state = 'pending' AND c.id = s.call_id AND camp.dialer_server_id = %s
                RETURNING s.id, s.supervisor_channel, s.agent_channel, s.mode""",
                self.server_id,
            )
        )
        return env.cr.fetchall()

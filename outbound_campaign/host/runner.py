"""The dialer host's event loop: one asyncio loop owning the AMI link of one dialer server.

Event-driven: an agent freed, a call ended or a contact due wakes the loop, which plans and
originates at once; a short tick only serves timeouts and due contacts. Every database step is a
short transaction of :class:`~.store.DialerStore`, never held across a network wait.

Order of safety: the call row is committed before its Originate is written; after every
(re)connect, in-flight calls are reconciled (CoreShowChannels + AstDB) before dialling again; an
Originate whose fate is unknown is never re-sent.

Agents' phones: after every login the host reads ``DeviceStateList``, then folds each
``DeviceStateChange``; an agent whose phone is not free is not offered a call
(``dialer.device_state``). The state is stored on the agent for the consoles and the agents'
list, at most every ``refresh`` (the plan reads the host's own map): at 500 agents their phones
change state in most turns, and a statement a turn cost the turn 7 % of its time in PostgreSQL.

Live: every agent state change the host makes is told to that agent's console within a fifth of
a second (``live.notify_agents``); the campaigns whose calls, contacts, agents or dialing status changed are
told to the managers' dashboards (``live.notify_dashboard``) at most every
half a second (``dialer.notices``), so that a busy host does not flood the bus, and within a second
of the change. Both are sent once the turn that made the change is committed and its Originates
are on their way, in a short transaction of their own (the bus writes them when it commits).
"""

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import psycopg2

from .. import live
from ..dialer import agent_state, planning
from ..dialer.ami import AmiActionError, AmiClient, AmiError, AmiNotConnected, OriginateUnknown
from ..dialer.ami_headers import AmiHeaderError
from ..dialer.astdb import astdb_locations
from ..dialer.browser_phones import supervision_originate
from ..dialer.campaign_status import NO_CONTACT_DUE
from ..dialer.device_state import fold_device_states, free_agents, offerable
from ..dialer.events import FOLDED_EVENTS, call_uuid_of, check_timeouts, fold_event
from ..dialer.notices import AGENT_INTERVAL, PendingNotices
from ..dialer.orders import LeaveMessageOrder
from ..dialer.outcomes import CampaignType
from ..dialer.pacing import PacingCount, TokenBucket
from ..dialer.reconciliation import RECONCILE_GRACE, reconcile
from ..dialer.retries import decide_retry
from ..dialer.schedule import naive
from ..dialer.views import CallState
from .leave_message import take_requests
from .pending import FinishedCall, PendingWrites
from .recordings import fetch_recordings
from .store import TRANSIENT_DB_ERRORS, LeaseLost

_logger = logging.getLogger(__name__)


#: How often calls left unsettled by a reconciliation are looked up again.
RECHECK = 2.0


def real_clock():
    return datetime.now(timezone.utc)


class DialerRunner:
    """Dial for one server until :meth:`stop` (or ``run_for`` seconds, for the cron burst)."""

    def __init__(
        self,
        store,
        *,
        clock=real_clock,
        tick=0.25,
        lease_ttl=30.0,
        refresh=1.0,
        reconcile_grace=None,
        ami_options=None,
    ):
        self.store = store
        self.clock = clock
        self.tick = tick
        self.lease_ttl = lease_ttl
        self.refresh = refresh
        self.reconcile_grace = reconcile_grace or RECONCILE_GRACE
        self.ami_options = ami_options or {}
        self.calls = {}  # uuid -> CallView, the calls in flight
        self.contacts = {}  # contact id -> ContactView of the calls in flight
        self.ami = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._reconciled = False
        self._reconciled_at = 0.0
        self._lease_lost = False
        self._unsettled = set()  # uuids of calls Asterisk knew nothing of at the last reconciliation
        self._pending = PendingWrites()  # what the next turn stores
        self.device_states = {}  # device -> state, from DeviceStateList and DeviceStateChange
        self._phones_to_store = {}  # device -> state changed since the phones were last stored
        self._phones_stored_at = 0.0
        self._dashboard = PendingNotices()
        self._agents_changed = PendingNotices(AGENT_INTERVAL)  # their consoles not yet told
        self._statuses_written = {}  # campaign id -> (reason, until, ratio) last written
        self._statuses_reviewed_at = 0.0  # when a turn last had every campaign's status to write
        self._moved_since_statuses = set()  # campaigns whose contacts moved since then
        self._housekept_at = 0.0
        self._planned_at = 0.0
        self._timeouts_at = 0.0
        self._requests_at = 0.0
        self._serving = None  # the task taking Odoo's requests on another thread, if one is
        self._recordings_directory = ""
        self._wrap_ups_end = []  # ends of the wrap-ups this host started, not yet over
        self._unfinished = {}  # uuid -> CallResult whose contact or campaign could not be read yet
        self._ended_since_load = {}  # campaign id -> PacingCount of the calls ended since the last load
        self._tasks = set()
        self._one_by_one = False  # the last turn's results could not be stored together
        self._start = 0
        self._campaigns = []
        self._campaigns_at = None  # never loaded
        # While a load of the campaigns runs on another thread: the calls ended meanwhile, counted
        # again after it (the load may not have seen them: a few counted twice, never none).
        self._ended_while_loading = None
        self._server = None
        self._bucket = None
        self._turn_thread = None  # where the turns' transactions run, one at a time

    # -- lifecycle ---------------------------------------------------------------------------------

    def stop(self):
        self._stopping.set()
        self._wake.set()

    async def run(self, run_for=None):
        """Hold the server's lease and dial; returns False if another host holds it."""
        if not self.store.acquire_lease(self.lease_ttl):
            _logger.info("Dialer server %s is held by another host: standing aside", self.store.server_id)
            return False
        self._server, link = self.store.load_server()
        self._bucket = TokenBucket(self._server.max_calls_per_second)
        self._turn_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="dialer-turn")
        open_calls, contacts = self.store.load_open_calls()
        self.calls.update({call.uuid: call for call in open_calls})
        self.contacts.update(contacts)
        self._recordings_directory = link.pop("recordings_directory", "")
        self.ami = AmiClient(link["host"], link["port"], link["username"], link["secret"], **self.ami_options)
        for name in FOLDED_EVENTS:
            self.ami.on_event(name, self._fold)
        self.ami.on_event("DeviceStateChange", self._on_device_state)
        self.ami.on_connected(self._on_connected)
        self.ami.on_disconnected(self._on_disconnected)
        deadline = None if run_for is None else time.monotonic() + run_for
        try:
            self.store.heartbeat("connecting")
            await self._connect(deadline)
            await self._loop(deadline)
        finally:
            await self._shutdown()
        return True

    async def _connect(self, deadline):
        while not self._stopping.is_set():
            try:
                await self.ami.start()
                return
            except (OSError, AmiError, asyncio.TimeoutError) as exc:
                _logger.warning("Cannot reach AMI of dialer server %s: %s", self.store.server_id, exc)
                self.store.heartbeat("error", str(exc)[:200])
                if deadline is not None and time.monotonic() >= deadline:
                    return
                await self._sleep(5.0)
                # Keep the server while waiting for Asterisk; give up if another host took it.
                if not self.store.acquire_lease(self.lease_ttl):
                    self._lease_lost = True
                    return

    async def _loop(self, deadline):
        lease_at = time.monotonic()
        while not self._stopping.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick)
            self._wake.clear()
            try:
                self._check_timeouts()
                for result in list(self._unfinished.values()):
                    del self._unfinished[result.uuid]
                    self._finish(result)
                recheck = not self._reconciled or self._unsettled
                if self.ami.connected and recheck and time.monotonic() - self._reconciled_at >= RECHECK:
                    await self._reconcile()
                await self._turn(dial=self.ami.connected and self._reconciled and not self._stopping.is_set())
                # The now-and-then work below (a few ms each) once the turn's Originates have left:
                # done inside the turn, it held up every agent freed at that moment (the p99).
                await asyncio.sleep(0)
                if time.monotonic() - lease_at >= self.lease_ttl / 3:
                    if not self.store.acquire_lease(self.lease_ttl):
                        _logger.warning("Lost the lease of dialer server %s: stopping", self.store.server_id)
                        self._lease_lost = True
                        break
                    lease_at = time.monotonic()  # a renewal that failed is tried again at once
                    self.store.heartbeat("connected" if self.ami.connected else "disconnected")
                self._reload_campaigns_if_due()
                self._serve_requests_if_due()
            except LeaseLost as exc:  # another host took the server: it reconciles our calls
                _logger.warning("%s: stopping", exc)
                self._lease_lost = True
                break
            except Exception:  # a database outage, a bad row: log it, keep the host up, try again
                _logger.exception("Dialer turn of server %s failed; retrying", self.store.server_id)
                await self._sleep(1.0)

    async def _shutdown(self):
        """Stop dialling; calls in flight keep their AstDB record, reconciled by the next host."""
        if self._serving is not None:  # the requests it takes are marked sent: they are sent
            await asyncio.gather(self._serving, return_exceptions=True)
        if self.ami is not None:
            await self.ami.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if not self._lease_lost:  # what the calls did until now; a new holder reconciles them otherwise
            self._store_phones_with_next_turn()
            try:
                await self._turn(dial=False)
                if self._one_by_one:  # the results could not be stored together: row by row
                    await self._turn(dial=False)
            except LeaseLost as exc:
                _logger.warning("%s: the last results are left to the next holder", exc)
            except Exception:
                _logger.exception("Could not store the last results of server %s", self.store.server_id)
            self.store.release_lease()
        if self._turn_thread is not None:
            await self._off_the_loop(self.store.close_turn_cursor, executor=self._turn_thread)
            self._turn_thread.shutdown()

    async def _sleep(self, seconds):
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- connection ----------------------------------------------------------------------------

    async def _on_connected(self, _client):
        self.store.heartbeat("connected")
        self._reconciled = False
        await self._read_device_states()
        await self._reconcile()
        self._wake.set()

    async def _read_device_states(self):
        """Every phone's state as Asterisk knows it now; a phone it does not list is unknown."""
        try:
            items = await self.ami.device_state_list()
        except AmiError as exc:
            _logger.warning("DeviceStateList refused or unanswered: %s", exc)
            return
        self.device_states = fold_device_states({}, items)
        # Stored at once, over any older change not stored yet (which the list supersedes).
        self._phones_to_store.update(self.device_states)
        self._store_phones_with_next_turn()

    async def _on_disconnected(self, _client):
        self._reconciled = False
        self.store.heartbeat("disconnected")

    async def _reconcile(self):
        """Settle every call in flight from what Asterisk still knows, then allow dialling.

        Calls Asterisk knows nothing of yet stay in flight (their contact and agent are not
        dialled again) and are looked at again every few seconds until the engine's grace
        period closes them as ``unknown``.
        """
        open_calls = [call for call in self.calls.values() if call.state is not CallState.ENDED]
        if open_calls:
            try:
                channels = await self.ami.core_show_channels()
                live = {call_uuid_of(channel) for channel in channels}
                # Keyed by AstDB key: "<uuid>", and "<uuid>-dial" for client first.
                astdb = {}
                for call in open_calls:
                    if call.uuid not in live and call.queued_at is not None:
                        for family, key in astdb_locations(call):
                            astdb[key] = await self.ami.db_get(family, key)
            except AmiError as exc:
                _logger.warning("Reconciliation interrupted: %s", exc)
                return
            # Events kept coming while we waited for Asterisk: settle the calls as they are now.
            open_calls = [self.calls[call.uuid] for call in open_calls if call.uuid in self.calls]
            settled = reconcile(self.clock(), open_calls, channels, astdb, self.reconcile_grace)
            self._unsettled = {item.call.uuid for item in settled if item.status == "pending"}
            for item in settled:
                if item.status == "ended":
                    self._finish(item.result)
                elif item.status == "up" and item.call != self.calls[item.call.uuid]:
                    # a customer found waiting on hold: its OcWaiting was lost with the link
                    self.calls[item.call.uuid] = item.call
                    self._pending.progress[item.call.uuid] = item.call
        else:
            self._unsettled = set()
        self._reconciled = True
        self._reconciled_at = time.monotonic()

    # -- dialling ------------------------------------------------------------------------------

    def _reload_campaigns_if_due(self):
        """The running campaigns, reloaded every ``refresh`` seconds on another thread, the turns
        going on meanwhile with the last load: at 50 campaigns a load takes a few milliseconds, for
        which the loop held up every turn and every agent freed (a hundredth of the time: the p99).
        The first load is awaited: there is nothing to dial before it."""
        if self._campaigns_at is None:
            self._campaigns_loaded(self.store.load_campaigns(self.clock()), {})
            return
        if self._ended_while_loading is not None or time.monotonic() - self._campaigns_at < self.refresh:
            return
        self._ended_while_loading = {}
        self._spawn(self._reload_campaigns())

    async def _reload_campaigns(self):
        try:
            campaigns = await self._off_the_loop(self.store.load_campaigns, self.clock())
        except Exception:
            _logger.exception("Campaigns of dialer server %s not reloaded: tried again", self.store.server_id)
            self._campaigns_at = time.monotonic()  # a refresh later, not at every turn
            self._ended_while_loading = None
            return
        self._campaigns_loaded(campaigns, self._ended_while_loading)
        self._ended_while_loading = None

    def _campaigns_loaded(self, campaigns, ended_since):
        self._campaigns = campaigns
        self._campaigns_at = time.monotonic()
        self._ended_since_load = ended_since

    def _load_campaigns(self):
        """The running campaigns as last loaded (at once if never); between two loads, their
        pacing counts grow with every call that ends, so that pacing reacts at once."""
        if self._campaigns_at is None:
            self._reload_campaigns_if_due()
        return [
            replace(campaign, stats=self._ended_since_load[campaign.id].add_to(campaign.stats))
            if campaign.id in self._ended_since_load
            else campaign
            for campaign in self._campaigns
        ]

    async def _turn(self, dial):
        """One short transaction: store what the calls and phones did since the last turn, end the
        wrap-ups that are over, then, if dialling, choose the next calls, claim them and write the
        campaigns' dialing statuses. Only once it is committed are Originates sent, then the live
        notifications. The transaction runs on the turns' thread (:meth:`_store_and_plan`): while
        it waits for PostgreSQL, the loop goes on reading and folding Asterisk's events.

        Nothing is lost if the process dies before: the dialplan recorded every outcome in AstDB
        (never deleted by the dialer: it has no ``system`` permission; the dialplan drops each
        day's entries a week later), and the next host reconciles from it.
        """
        clock, now = time.monotonic(), self.clock()
        # Now and then (and whenever one of ours is over) the wrap-ups are looked at, even idle:
        # another host or a restart may have left some.
        housekeeping = clock - self._housekept_at >= self.refresh
        wrap_ups_over = housekeeping or any(end <= now for end in self._wrap_ups_end)
        if self._phones_to_store and clock - self._phones_stored_at >= self.refresh:
            self._store_phones_with_next_turn()
        # Calls ringing or answered wake the loop several times a call: storing them is enough,
        # a plan (most of a turn) could place nothing more, and an agent freed meanwhile would
        # wait for it. A plan still runs at least every tick (contacts fall due, pacing moves).
        if (
            dial
            and self._pending.frees_nothing
            and not wrap_ups_over
            and clock - self._planned_at < self.tick
        ):
            dial = False
        campaigns = self._load_campaigns() if dial else []
        if not (self._pending or campaigns or wrap_ups_over):
            self._notify_if_due()
            return
        taken = self._pending.take()
        if housekeeping:
            self._housekept_at = clock
        # What the plan reads of the calls and phones, as they are now: the events folded while the
        # transaction runs change the host's own maps, never these.
        in_flight = [call for call in self.calls.values() if call.in_flight] if campaigns else []
        device_states = dict(self.device_states) if campaigns else {}
        writable = self._statuses_due((campaign.id for campaign in campaigns), clock)
        try:
            plan, claimed, contacts, statuses = await self._off_the_loop(
                self._store_and_plan,
                taken,
                campaigns,
                writable,
                wrap_ups_over,
                now,
                in_flight,
                device_states,
                executor=self._turn_thread,
            )
        except Exception as exc:
            # Rolled back whole: keep what was to be stored for the next turn, send nothing.
            self._pending.restore(taken)
            if isinstance(exc, TRANSIENT_DB_ERRORS):
                _logger.info("Dialling turn retried: %s", exc)
                return
            if isinstance(exc, psycopg2.Error) and taken.calls_or_agents and not self._one_by_one:
                _logger.warning("Storing a turn's dialer results failed (%s): storing them one by one", exc)
                self._one_by_one = True
                self._wake.set()
                return
            raise
        self._one_by_one = False
        self._agents_changed.add(self.store.changes.agents)
        self._dashboard.add(self.store.changes.campaigns)
        self._statuses_stored(statuses, clock, reviewed=plan is not None and len(writable) == len(campaigns))
        self._wrap_ups_end = (
            [end for end in self._wrap_ups_end if end > now] if wrap_ups_over else self._wrap_ups_end
        )
        self._wrap_ups_end += [
            finished.agent_next.wrap_up_until
            for finished in taken.finished
            if finished.agent_next and finished.agent_next.wrap_up_until
        ]
        if plan is None:
            self._notify_if_due()
            return
        self._start = plan.next_start
        self._planned_at = clock
        for connect in plan.connects:
            self.calls[connect.call.uuid] = connect.call
            self._spawn(self._send_connect(connect))
        for order in claimed:
            self.calls[order.call.uuid] = order.call
            self.contacts[order.call.contact_id] = contacts[order.call.contact_id]
            self._spawn(self._send_originate(order))
        # After the Originates are on their way (tasks run in the order they were made): telling
        # the browsers costs a transaction and a NOTIFY, which no call should wait for.
        self._notify_if_due()

    def _store_and_plan(self, taken, campaigns, writable, wrap_ups_over, now, in_flight, device_states):
        """The turn's transaction (on the turns' thread): returns the plan (None if not
        dialling), the calls claimed, the contacts read and the dialing statuses written (of the
        campaigns in ``writable``, :meth:`_statuses_due`)."""
        self.store.changes.clear()
        statuses = {}
        # Nothing is written by a host that lost the server: the lease is checked first.
        with self.store.turn_env() as env, self.store.fenced(env):
            if taken.calls_or_agents:
                self.store.record_batch(
                    env,
                    list(taken.progress.values()),
                    taken.finished,
                    taken.missed_agents,
                    taken.freed_agents,
                    one_by_one=self._one_by_one,
                )
            self.store.record_device_states(env, taken.device_changes)
            if wrap_ups_over:
                self.store.end_wrap_ups(env, now)
            plan, claimed, contacts = (
                self._plan(env, campaigns, in_flight, device_states, writable)
                if campaigns
                else (None, [], {})
            )
            if plan is not None:
                statuses = self._write_statuses(env, plan.statuses)
        return plan, claimed, contacts, statuses

    async def _off_the_loop(self, work, *args, executor=None):
        """``work(*args)`` on ``executor``: the turns' thread (the turns' cursor's only user), or a
        thread of the default pool, in a transaction of its own beside the turns; inline in tests,
        whose one connection serves the test's own thread only."""
        if self.store.one_connection:
            return work(*args)
        return await asyncio.get_running_loop().run_in_executor(executor, work, *args)

    def _serve_requests_if_due(self):
        """Now and then (every ``refresh``), in one short transaction of its own on another thread
        (the loop waited a few ms for it, as for a turn): what Odoo asks of this host. The agents'
        Leave message requests (each one Redirect) and the supervisors' listen-ins (each one
        Originate), taken and marked sent, then sent after the commit; and the recorded calls'
        files, attached. A call this host does not follow, or whose channels it has not seen, gets
        no Redirect. A recordings failure is logged and tried again later (its savepoint rolled
        back): it holds up neither the requests nor the dialling."""
        if self._serving is not None or time.monotonic() - self._requests_at < self.refresh:
            return
        self._requests_at = time.monotonic()
        take = self.ami.connected and self._reconciled and not self._stopping.is_set()
        self._serving = asyncio.get_running_loop().create_task(self._serve_requests(take))

    async def _serve_requests(self, take):
        try:
            leave_messages, supervisions = await self._off_the_loop(self._take_requests, take)
        except LeaseLost as exc:  # the next holder takes them
            _logger.warning("Requests of dialer server %s not taken: %s", self.store.server_id, exc)
            return
        except Exception:
            _logger.exception("Requests of dialer server %s not served: tried again", self.store.server_id)
            return
        finally:
            self._serving = None
        for supervision in supervisions:
            self._spawn(self._send_supervision(*supervision))
        for call_uuid in leave_messages:
            try:
                order = LeaveMessageOrder(self.calls[call_uuid])
            except (KeyError, ValueError) as exc:
                _logger.warning("Leave message on call %s not sent: %s", call_uuid, exc)
                continue
            self._spawn(self._send_leave_message(order))

    def _take_requests(self, take):
        """The transaction of :meth:`_serve_requests_if_due`: the requests taken (if ``take``)
        and the recordings attached; returns the leave messages' calls and the listen-ins."""
        with self.store.env() as env:
            if take:  # only by the holder: a host that lost the server leaves them to the next
                self.store.check_lease(env)
            leave_messages = take_requests(env, self.store.server_id) if take else []
            supervisions = self.store.take_supervisions(env) if take else []
            try:
                with env.cr.savepoint():
                    fetch_recordings(
                        env, self.store.server_id, self._recordings_directory, naive(self.clock())
                    )
            except Exception:
                _logger.exception(
                    "Recordings of dialer server %s: turn failed, tried again later", self.store.server_id
                )
        return leave_messages, supervisions

    async def _send_leave_message(self, order):
        try:
            answer = await self.ami.send_action(order.to_ami_headers())
        except (AmiError, AmiHeaderError, asyncio.TimeoutError) as exc:
            _logger.warning("Leave message on call %s not sent: %s", order.call.uuid, exc)
            return
        if not getattr(answer, "success", False):
            _logger.warning("Asterisk refused to leave the message on call %s: %s", order.call.uuid, answer)

    def _plan(self, env, campaigns, in_flight, device_states, writable):
        """Read the ready agents with a free phone, the calls of other servers that want agents
        they share with ours, their reserved contacts and the due contacts, let the engine decide
        (``in_flight``: this host's calls in flight), claim its choices. A campaign without a
        ready agent can dial nothing: its due contacts are looked up only when its dialing status
        may be written (``writable``), to tell "no agent ready" from "no contact due"."""
        now = self.clock()
        campaign_ids = [campaign.id for campaign in campaigns]
        agents = free_agents(self.store.load_ready_agents(env, campaign_ids), device_states)
        elsewhere = {cid for agent in agents for cid in agent.campaign_ids} - set(campaign_ids)
        wanting_agents = self.store.calls_wanting_agents_elsewhere(env, elsewhere)
        free_channels = max(0, self._server.max_channels - len(in_flight))
        limits = {}
        for campaign in campaigns:
            if campaign.preview:  # its agents choose; what they chose is reserved for them
                continue
            ready = sum(1 for agent in agents if campaign.id in agent.campaign_ids)
            ratio_cap = max(1, math.ceil(campaign.pacing.max_ratio))
            if ready:
                limits[campaign.id] = min(free_channels, ready * ratio_cap) + 2
            elif campaign.id in writable:  # one contact tells "no agent ready" from "no contact due"
                limits[campaign.id] = 1
        due = self.store.due_contacts(env, limits, now)
        reserved = self.store.reserved_contacts(env, [agent.id for agent in agents], campaign_ids, now)
        state = planning.TurnState(
            now,
            self._server,
            campaigns,
            agents,
            in_flight + wanting_agents,
            due,
            reserved,
            frozenset(writable),
        )
        plan = planning.plan(state, self._bucket, lambda: str(uuid.uuid4()), self._start)
        self.store.apply_skips(env, plan.skips)
        for connect in plan.connects:
            self.store.connect_agent(env, connect.call)
        contacts = {contact.id: contact for group in (*due.values(), *reserved.values()) for contact in group}
        claimed = self.store.claim(env, plan.originates, contacts) if plan.originates else []
        if claimed or plan.connects:
            self.store.write_shared_agents(env, plan.shared_agents)
        return plan, claimed, contacts

    def _statuses_due(self, campaign_ids, clock):
        """The campaigns whose dialing status a turn may write: a campaign's first at once, its
        changes at most every ``refresh`` (at 500 agents on 50 campaigns one changes every few
        calls: an UPDATE in 95 % of the turns, for a figure the dashboard shows)."""
        if clock - self._statuses_reviewed_at >= self.refresh:
            return set(campaign_ids)
        return {campaign_id for campaign_id in campaign_ids if campaign_id not in self._statuses_written}

    def _write_statuses(self, env, statuses):
        """Write the dialing statuses (of the campaigns ``_statuses_due``) that changed since this
        host last wrote them. ``no_contact_due`` runs until the next contact's due time, looked up
        again only when the status begins, when the campaign's contacts moved, or once that time
        has passed."""
        now = self.clock()
        self._moved_since_statuses |= self.store.changes.campaigns
        changed = self._moved_since_statuses
        self._moved_since_statuses = changed - statuses.keys()
        lookups = []
        for campaign_id, status in statuses.items():
            written = self._statuses_written.get(campaign_id)
            if status.reason == NO_CONTACT_DUE and (
                written is None
                or written[0] != NO_CONTACT_DUE
                or campaign_id in changed
                or (written[1] is not None and written[1] <= now)
            ):
                lookups.append(campaign_id)
        next_due = self.store.next_due(env, lookups, now)
        to_write, keys = {}, {}
        for campaign_id, status in statuses.items():
            written = self._statuses_written.get(campaign_id)
            if status.reason != NO_CONTACT_DUE:
                until = status.opens_at
            elif campaign_id in lookups:
                until = next_due.get(campaign_id)
            else:
                until = written[1]
            # The ratio to a tenth: what "pacing at 1.5:1" needs, without a write at every call.
            key = (status.reason, until, round(status.dial_ratio, 1))
            if key != written:
                to_write[campaign_id] = (replace(status, dial_ratio=key[2]), until)
                keys[campaign_id] = key
        self.store.write_statuses(env, to_write, now)
        return keys

    def _statuses_stored(self, keys, clock, reviewed):
        """Once the turn is committed: the statuses it wrote (``_write_statuses``' keys), and,
        if it had every campaign's status to write (``reviewed``), when (``time.monotonic()``),
        written or unchanged: the next review is a ``refresh`` later, its agentless campaigns'
        due contacts not read before."""
        self._statuses_written.update(keys)
        if reviewed:
            self._statuses_reviewed_at = clock

    def _notify_if_due(self):
        """Once the turn's transaction is committed: tell the consoles of the agents whose state
        changed, and (at most every half a second, ``dialer.notices``) the dashboards of the
        campaigns whose figures changed, if anything is due (an idle host turns every tick)."""
        clock = time.monotonic()
        agents = self._agents_changed.take(clock) if self._agents_changed.due(clock) else set()
        campaigns = self._dashboard.take(clock) if self._dashboard.due(clock) else set()
        if agents or campaigns:
            self._spawn(self._notify(agents, campaigns))

    async def _notify(self, agents, campaigns):
        """In a short transaction of its own on another thread: a transaction and a NOTIFY that
        neither a call nor an AMI event should wait for. The campaigns the told agents serve are
        looked up there too, off the turn, and their dashboards told with the next round. What
        could not be told is told with the next."""
        try:
            agents_campaigns = await self._off_the_loop(self._send_notices, agents, campaigns)
        except Exception:
            _logger.exception("Live notifications not sent; they will be sent with the next ones")
            self._agents_changed.add(agents)
            self._dashboard.add(campaigns)
            return
        self._dashboard.add(agents_campaigns)

    def _send_notices(self, agents, campaigns):
        """Tell the consoles and the dashboards; returns the campaigns the agents serve."""
        with self.store.env() as env:
            live.notify_agents(env, agents)
            live.notify_dashboard(env, campaigns)
            return self.store.campaigns_of_agents(env, agents)

    def _spawn(self, awaitable):
        task = asyncio.get_running_loop().create_task(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task):
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _logger.error("Dialer task failed", exc_info=task.exception())

    async def _send_originate(self, order):
        uuid_ = order.call.uuid
        try:
            result = await self.ami.originate(order.to_ami_headers())
        except OriginateUnknown as exc:
            # Sent, fate unknown: never re-send; reconciliation (after the reconnect, or at the
            # next recheck if the link stayed up) settles it.
            _logger.info("Originate %s: %s", uuid_, exc)
            self._unsettled.add(uuid_)
            return
        except AmiHeaderError as exc:
            _logger.error("Originate %s refused before sending: %s", uuid_, exc)
            self._fold({"Response": "Error", "ActionID": order.call.action_id, "Message": str(exc)})
            return
        except AmiActionError as exc:
            message = getattr(exc, "response", None)
            self._fold(
                dict(message.items())
                if message is not None
                else {"Response": "Error", "ActionID": order.call.action_id, "Message": str(exc)}
            )
            return
        except AmiError as exc:  # not connected: nothing was written
            self._fold({"Response": "Error", "ActionID": order.call.action_id, "Message": str(exc)})
            return
        self._fold(result.event)

    async def _send_connect(self, connect):
        try:
            result = await self.ami.originate(connect.to_ami_headers())
        except OriginateUnknown as exc:
            _logger.info("Agent leg of %s: %s", connect.call.uuid, exc)
            self._unsettled.add(connect.call.uuid)
            return
        except (AmiNotConnected, AmiHeaderError) as exc:
            # Nothing was sent: the agent never rang. Free both for the next plan, pause nobody.
            _logger.warning("Agent leg of %s not sent: %s", connect.call.uuid, exc)
            call = self.calls.get(connect.call.uuid)
            if call is not None:
                self.calls[call.uuid] = replace(call, agent_id=None, agent_leg_at=None)
            self._pending.freed_agents.add(connect.call.agent_id)
            return
        except AmiError as exc:
            self._fold({"Response": "Error", "ActionID": connect.call.agent_action_id, "Message": str(exc)})
            return
        self._fold(result.event)

    async def _send_supervision(self, supervision_id, supervisor_channel, agent_channel, mode):
        """Ring a supervisor's phone into [oc-supervise] (issue 13); a failure is only logged: the
        supervisor sees their phone did not ring and asks again."""
        try:
            headers = supervision_originate(
                supervisor_channel, agent_channel, mode, f"oc-sup-{supervision_id}"
            )
            await self.ami.originate(headers)
        except (AmiError, AmiHeaderError, ValueError) as exc:
            _logger.warning(
                "Supervision %s (%s of %s) not placed: %s", supervision_id, mode, agent_channel, exc
            )

    # -- events --------------------------------------------------------------------------------

    def _store_phones_with_next_turn(self):
        """The phones' states changed since they were last stored, for the next turn to store."""
        self._pending.device_changes.update(self._phones_to_store)
        self._phones_to_store, self._phones_stored_at = {}, time.monotonic()

    def _on_device_state(self, event):
        changed = fold_device_states(self.device_states, [event])
        if not changed:
            return
        self.device_states.update(changed)
        self._phones_to_store.update(changed)
        if any(offerable(state) for state in changed.values()):
            self._pending.phones_freed = True
            self._wake.set()  # a phone became free: its agent may take a call now

    def _fold(self, event):
        uuid_ = call_uuid_of(event)
        call = self.calls.get(uuid_) if uuid_ else None
        if call is None:
            return
        transition = fold_event(call, event, self.clock())
        if not transition.changed:
            return
        self.calls[uuid_] = transition.call
        if transition.agent_missed:
            self._pending.missed_agents.add(transition.agent_missed)
        if transition.result is not None:
            self._finish(transition.result)
        elif (
            transition.call.state is not call.state
            or transition.call.agent_answered_at != call.agent_answered_at
        ):
            self._pending.progress[uuid_] = transition.call
            # An agent-first call that moved on frees no one and keeps no one waiting: stored with
            # the next turn (a call ended, a phone freed, or the tick), never in a turn of its own
            # that the next results would wait for.
            if transition.call.campaign_type is not CampaignType.AGENT_FIRST:
                self._wake.set()

    def _check_timeouts(self):
        """Close the calls whose last event will not come, looked at once a tick: their wait is
        seconds long (``events.SETTLE``), and at 500 agents a look at every wake cost more than
        the turn itself."""
        if time.monotonic() - self._timeouts_at < self.tick:
            return
        self._timeouts_at = time.monotonic()
        now = self.clock()
        for call in list(self.calls.values()):
            transition = check_timeouts(call, now)
            if transition.result is not None:
                self.calls[call.uuid] = transition.call
                self._finish(transition.result)

    def _finish(self, result):
        """Store a finished call and decide its contact's next step; frees the agent.

        Once per call: a reconciliation that awaited Asterisk may bring the result of a call
        whose last event was folded meanwhile. If its contact or campaign cannot be read now, the
        call stays in flight and ends again at the next timeout check or reconciliation.
        """
        if result.uuid not in self.calls:
            return
        now = self.clock()
        try:
            contact = self.contacts.get(result.contact_id) or self.store.load_contact(result.contact_id)
            campaign = next((c for c in self._campaigns if c.id == result.campaign_id), None)
            if campaign is None:  # paused or done meanwhile: its calls in flight still end properly
                campaign = next(iter(self.store.load_campaigns(now, ids=[result.campaign_id])), None)
        except Exception:
            _logger.exception("Result of call %s kept for the next turn", result.uuid)
            self._unfinished[result.uuid] = result
            return
        if contact is None or campaign is None:
            # Deleted meanwhile (the call row with them): no next step; the store frees the agent.
            _logger.error("Call %s ended but its contact or campaign is gone", result.uuid)
            del self.calls[result.uuid]
            self._pending.progress.pop(result.uuid, None)
            self._pending.finished.append(FinishedCall(result))
            self._wake.set()
            return
        del self.calls[result.uuid]
        self.contacts.pop(result.contact_id, None)
        decision = decide_retry(result, contact, campaign, now)
        # An agent who let the call ring out or was busy missed it (twice in a row pauses them); a
        # call torn down by Asterisk itself (reason 0/1: shutdown, channel gone) says nothing of
        # the agent. Wrap-up runs on this host's clock, as its expiry is checked.
        missed = agent_state.missed_by_agent(result.outcome, result.reason)
        agent_next = None
        if result.agent_id and not missed:
            wrap_up = timedelta(seconds=campaign.wrap_up_time)
            agent_next = agent_state.after_call(
                result.agent_id, result.connected_at is not None, now, wrap_up, result.outcome
            )
        self._pending.progress.pop(result.uuid, None)
        self._pending.finished.append(FinishedCall(result, decision, agent_next, missed))
        self._count_ended(result.campaign_id, result.outcome)
        self._wake.set()

    def _count_ended(self, campaign_id, outcome):
        """A call ended: counted in its campaign's pacing at once, until the next load reads it."""
        for ended in (self._ended_since_load, self._ended_while_loading):
            if ended is not None:
                ended.setdefault(campaign_id, PacingCount()).count(outcome)

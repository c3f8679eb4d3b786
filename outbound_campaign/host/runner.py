"""The dialer host's event loop: one asyncio loop owning the AMI link of one dialer server.

Event-driven: an agent freed, a call ended or a contact due wakes the loop, which plans and
originates at once; a short tick only serves timeouts and due contacts. Every database step is a
short transaction of :class:`~.store.DialerStore`, never held across a network wait.

Order of safety: the call row is committed before its Originate is written; after every
(re)connect, in-flight calls are reconciled (CoreShowChannels + AstDB) before dialling again; an
Originate whose fate is unknown is never re-sent.
"""

import asyncio
import contextlib
import logging
import math
import time
import uuid
from dataclasses import replace
from datetime import datetime, timezone

from ..dialer import engine
from ..dialer.ami import (
    AmiActionError,
    AmiClient,
    AmiError,
    AmiHeaderError,
    AmiNotConnected,
    OriginateUnknown,
)
from ..dialer.pacing import PacingStats, TokenBucket
from .store import TRANSIENT_DB_ERRORS

_logger = logging.getLogger(__name__)


#: OriginateResponse reasons that say the agent did not take the call: rang out (3), busy (5).
AGENT_AWAY_REASONS = (3, 5)
#: How often calls left unsettled by a reconciliation are looked up again.
RECHECK = 2.0


class PacingCount:
    """Calls of a campaign ended since its pacing counts were last read from the database."""

    def __init__(self):
        self.dialed = self.answered = self.abandoned = 0

    def count(self, result):
        # The same counting as DialerStore._pacing_stats, on one result.
        if result.outcome.value in ("agent_no_answer", "unknown"):
            return
        self.dialed += 1
        self.answered += result.outcome.value in ("answered", "abandoned")
        self.abandoned += result.outcome.value == "abandoned"

    def add_to(self, stats):
        return PacingStats(
            stats.dialed + self.dialed, stats.answered + self.answered, stats.abandoned + self.abandoned
        )


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
        self.reconcile_grace = reconcile_grace or engine.RECONCILE_GRACE
        self.ami_options = ami_options or {}
        self.calls = {}  # uuid -> engine.CallView, the calls in flight
        self.contacts = {}  # contact id -> engine.ContactView of the calls in flight
        self.statuses = {}  # campaign id -> engine.CampaignStatus of the last plan
        self.ami = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._reconciled = False
        self._reconciled_at = 0.0
        self._lease_lost = False
        self._unsettled = set()  # uuids of calls Asterisk knew nothing of at the last reconciliation
        self._progress = {}  # uuid -> CallView that moved on since the last flush
        self._results = []  # (CallResult, RetryDecision, agent id to pause or None) not yet stored
        self._paused_agents = set()  # agents who did not take a client-first bridge leg
        self._freed_agents = set()  # agents whose bridge leg could not be sent: ready again
        self._unfinished = {}  # uuid -> CallResult whose contact or campaign could not be read yet
        self._ended_since_load = {}  # campaign id -> PacingCount of the calls ended since the last load
        self._tasks = set()
        self._start = 0
        self._campaigns = []
        self._campaigns_at = 0.0
        self._server = None
        self._bucket = None

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
        open_calls, contacts = self.store.load_open_calls()
        self.calls.update({call.uuid: call for call in open_calls})
        self.contacts.update(contacts)
        self.ami = AmiClient(link["host"], link["port"], link["username"], link["secret"], **self.ami_options)
        self.ami.on_event("*", self._on_event)
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
                if time.monotonic() - lease_at >= self.lease_ttl / 3:
                    lease_at = time.monotonic()
                    if not self.store.acquire_lease(self.lease_ttl):
                        _logger.warning("Lost the lease of dialer server %s: stopping", self.store.server_id)
                        self._lease_lost = True
                        break
                    self.store.heartbeat("connected" if self.ami.connected else "disconnected")
                self._check_timeouts()
                for result in list(self._unfinished.values()):
                    del self._unfinished[result.uuid]
                    self._finish(result)
                recheck = not self._reconciled or self._unsettled
                if self.ami.connected and recheck and time.monotonic() - self._reconciled_at >= RECHECK:
                    await self._reconcile()
                self._turn(dial=self.ami.connected and self._reconciled and not self._stopping.is_set())
            except Exception:  # a database outage, a bad row: log it, keep the host up, try again
                _logger.exception("Dialer turn of server %s failed; retrying", self.store.server_id)
                await self._sleep(1.0)

    async def _shutdown(self):
        """Stop dialling; calls in flight keep their AstDB record, reconciled by the next host."""
        if self.ami is not None:
            await self.ami.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if not self._lease_lost:  # what the calls did until now; a new holder reconciles them otherwise
            try:
                self._turn(dial=False)
            except Exception:
                _logger.exception("Could not store the last results of server %s", self.store.server_id)
            self.store.release_lease()

    async def _sleep(self, seconds):
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- connection ----------------------------------------------------------------------------

    async def _on_connected(self, _client):
        self.store.heartbeat("connected")
        self._reconciled = False
        await self._reconcile()
        self._wake.set()

    async def _on_disconnected(self, _client):
        self._reconciled = False
        self.store.heartbeat("disconnected")

    async def _reconcile(self):
        """Settle every call in flight from what Asterisk still knows, then allow dialling.

        Calls Asterisk knows nothing of yet stay in flight (their contact and agent are not
        dialled again) and are looked at again every few seconds until the engine's grace
        period closes them as ``unknown``.
        """
        open_calls = [call for call in self.calls.values() if call.state is not engine.CallState.ENDED]
        if open_calls:
            try:
                channels = await self.ami.core_show_channels()
                live = {engine.call_uuid_of(channel) for channel in channels}
                # Keyed by AstDB key: "<uuid>", and "<uuid>-dial" for client first.
                astdb = {}
                for call in open_calls:
                    if call.uuid not in live and call.queued_at is not None:
                        for family, key in engine.astdb_locations(call):
                            astdb[key] = await self.ami.db_get(family, key)
            except AmiError as exc:
                _logger.warning("Reconciliation interrupted: %s", exc)
                return
            # Events kept coming while we waited for Asterisk: settle the calls as they are now.
            open_calls = [self.calls[call.uuid] for call in open_calls if call.uuid in self.calls]
            settled = engine.reconcile(self.clock(), open_calls, channels, astdb, self.reconcile_grace)
            self._unsettled = {item.call.uuid for item in settled if item.status == "pending"}
            for item in settled:
                if item.status == "ended":
                    self._finish(item.result)
                elif item.status == "up" and item.call != self.calls[item.call.uuid]:
                    # a customer found waiting on hold: its OcWaiting was lost with the link
                    self.calls[item.call.uuid] = item.call
                    self._progress[item.call.uuid] = item.call
        else:
            self._unsettled = set()
        self._reconciled = True
        self._reconciled_at = time.monotonic()

    # -- dialling ------------------------------------------------------------------------------

    def _load_campaigns(self, now):
        """The running campaigns, reloaded every ``refresh`` seconds; between two loads, their
        pacing counts grow with every call that ends, so that pacing reacts at once."""
        if time.monotonic() - self._campaigns_at >= self.refresh:
            self._campaigns = self.store.load_campaigns(now)
            self._campaigns_at = time.monotonic()
            self._ended_since_load = {}
        return [
            replace(campaign, stats=self._ended_since_load[campaign.id].add_to(campaign.stats))
            if campaign.id in self._ended_since_load
            else campaign
            for campaign in self._campaigns
        ]

    def _turn(self, dial):
        """One short transaction: store what the calls did since the last turn, then, if dialling,
        choose the next calls and claim them. Only once it is committed are Originates sent.

        Nothing is lost if the process dies before: the dialplan recorded every outcome in AstDB
        (never deleted by the dialer: it has no ``system`` permission; the dialplan drops each
        day's entries a week later), and the next host reconciles from it.
        """
        progress, results = list(self._progress.values()), self._results
        paused, freed = self._paused_agents, self._freed_agents
        campaigns = self._load_campaigns(self.clock()) if dial else []
        if not (progress or results or paused or freed or campaigns):
            return
        self._progress, self._results, self._paused_agents, self._freed_agents = {}, [], set(), set()
        try:
            with self.store.env() as env:
                if progress or results or paused or freed:
                    self.store.record_batch(progress, results, paused, freed, env=env)
                plan, claimed, contacts = self._plan(env, campaigns) if campaigns else (None, [], {})
        except Exception as exc:
            # Rolled back whole: keep what was to be stored for the next turn, send nothing.
            self._progress = {**{call.uuid: call for call in progress}, **self._progress}
            self._results = results + self._results
            self._paused_agents |= paused
            self._freed_agents |= freed
            if isinstance(exc, TRANSIENT_DB_ERRORS):
                _logger.info("Dialling turn retried: %s", exc)
                return
            raise
        if plan is None:
            return
        self._start = plan.next_start
        self.statuses = dict(plan.statuses)
        for connect in plan.connects:
            self.calls[connect.call.uuid] = connect.call
            self._spawn(self._send_connect(connect))
        for order in claimed:
            self.calls[order.call.uuid] = order.call
            self.contacts[order.call.contact_id] = contacts[order.call.contact_id]
            self._spawn(self._send_originate(order))

    def _plan(self, env, campaigns):
        """Read the ready agents and due contacts, let the engine decide, claim its choices."""
        now = self.clock()
        agents = self.store.load_ready_agents([campaign.id for campaign in campaigns], env=env)
        in_flight = [call for call in self.calls.values() if call.in_flight]
        free_channels = max(0, self._server.max_channels - len(in_flight))
        limits = {}
        for campaign in campaigns:
            ready = sum(1 for agent in agents if campaign.id in agent.campaign_ids)
            ratio_cap = max(1, math.ceil(campaign.pacing.max_ratio))
            limits[campaign.id] = min(free_channels, ready * ratio_cap) + 2 if ready else 0
        due = self.store.due_contacts(limits, now, env=env)
        plan = engine.plan(
            now,
            self._server,
            campaigns,
            agents,
            in_flight,
            due,
            self._bucket,
            lambda: str(uuid.uuid4()),
            self._start,
        )
        self.store.apply_skips(plan.skips, env=env)
        for connect in plan.connects:
            self.store.connect_agent(connect.call, env=env)
        contacts = {contact.id: contact for contacts in due.values() for contact in contacts}
        claimed = self.store.claim(plan.originates, contacts, env=env) if plan.originates else []
        return plan, claimed, contacts

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
            await self._fold({"Response": "Error", "ActionID": order.call.action_id, "Message": str(exc)})
            return
        except AmiActionError as exc:
            message = getattr(exc, "response", None)
            await self._fold(
                dict(message.items())
                if message is not None
                else {"Response": "Error", "ActionID": order.call.action_id, "Message": str(exc)}
            )
            return
        except AmiError as exc:  # not connected: nothing was written
            await self._fold({"Response": "Error", "ActionID": order.call.action_id, "Message": str(exc)})
            return
        await self._fold(result.event)

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
            self._freed_agents.add(connect.call.agent_id)
            return
        except AmiError as exc:
            await self._fold(
                {"Response": "Error", "ActionID": connect.call.agent_action_id, "Message": str(exc)}
            )
            return
        await self._fold(result.event)

    # -- events --------------------------------------------------------------------------------

    async def _on_event(self, event):
        await self._fold(dict(event.items()))

    async def _fold(self, event):
        uuid_ = engine.call_uuid_of(event)
        call = self.calls.get(uuid_) if uuid_ else None
        if call is None:
            return
        transition = engine.fold_event(call, event, self.clock())
        if not transition.changed:
            return
        self.calls[uuid_] = transition.call
        if transition.agent_missed:
            self._paused_agents.add(transition.agent_missed)
        if transition.result is not None:
            self._finish(transition.result)
        elif (
            transition.call.state is not call.state
            or transition.call.agent_answered_at != call.agent_answered_at
        ):
            self._progress[uuid_] = transition.call
            self._wake.set()

    def _check_timeouts(self):
        now = self.clock()
        for call in list(self.calls.values()):
            transition = engine.check_timeouts(call, now)
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
        if campaign is None:
            _logger.error("Call %s ended but its campaign %s is gone", result.uuid, result.campaign_id)
            return
        del self.calls[result.uuid]
        self.contacts.pop(result.contact_id, None)
        decision = engine.decide_retry(result, contact, campaign, now)
        # An agent who let the call ring out or was busy is paused (they are away); a call torn
        # down by Asterisk itself (reason 0/1: shutdown, channel gone) says nothing of the agent.
        missed = result.outcome.value == "agent_no_answer" and result.reason in AGENT_AWAY_REASONS
        pause = result.agent_id if missed else None
        self._progress.pop(result.uuid, None)
        self._results.append((result, decision, pause))
        self._ended_since_load.setdefault(result.campaign_id, PacingCount()).count(result)
        self._wake.set()

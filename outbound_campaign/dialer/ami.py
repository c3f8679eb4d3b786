"""The AMI wire: our thin layer over panoramisk 1.4. Pure Python, no Odoo.

From panoramisk we use the protocol (framing, answers parsed into ``Message``, ``Action`` objects
resolved by the messages carrying their ActionID; events are read by ``ami_wire``). We do not use
its ``Manager``, whose recovery policies are wrong for a dialer:

* on reconnect it re-sends every action still unanswered when the link dropped (they are parked
  in ``awaiting_actions`` and replayed on ``FullyBooted``): an Originate would be dialled twice;
* its pinger sends ``Ping`` but never checks for the ``Pong``, so a silently dead peer goes
  unnoticed, and it reconnects at a fixed whole-second interval, with no backoff;
* it calls event callbacks inside ``data_received``: an exception there makes asyncio close the
  transport, so one faulty callback kills the connection.

:class:`AmiClient` owns the connection instead: login, reconnect with capped exponential
backoff, a ping watchdog, guarded callbacks, connected/disconnected callbacks (the host
reconciles after each reconnect, before dialling again) and an :meth:`AmiClient.originate`
that is never re-sent: when the link drops after the write, the caller gets
:class:`OriginateUnknown` and reconciles through CoreShowChannels and AstDB.

Every header is validated before anything is written (``ami_headers.validate_headers``).
"""

from __future__ import annotations

import asyncio
import collections
import fnmatch
import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from .ami_headers import AmiHeaderError, validate_headers
from .ami_wire import AmiProtocol, Event, parse_event

_logger = logging.getLogger(__name__)

_TRUE = frozenset({"true", "yes", "1", "on", "y", "t"})

EventCallback = Callable[[Event], Awaitable[None] | None]
StateCallback = Callable[["AmiClient"], Awaitable[None] | None]


# ---- errors ---------------------------------------------------------------------------------------


class AmiError(Exception):
    """Base of the errors of the AMI link."""


class AmiNotConnected(AmiError):
    """No logged-in link: the action was not sent, it is safe to try again later."""


class AmiConnectionLost(AmiError):
    """The link dropped after the action was written: Asterisk may or may not have run it."""


class AmiTimeout(AmiError, TimeoutError):
    """No complete answer in time (the action may have run)."""


class AmiActionError(AmiError):
    """Asterisk answered ``Response: Error`` (or another non-success)."""

    def __init__(self, response: Message) -> None:
        super().__init__(response.message or response.response or "error")
        self.response = response


class AmiAuthError(AmiActionError):
    """The Login was refused (``Authentication failed``)."""


class OriginateUnknown(AmiError):
    """The Originate was written but its outcome is unknown (link lost, or no
    OriginateResponse in time). Never re-send it: reconcile (CoreShowChannels, AstDB)."""

    def __init__(self, action_id: str, headers: Mapping[str, str], why: str) -> None:
        super().__init__(f"Originate {action_id}: {why}")
        self.action_id = action_id
        self.headers = dict(headers)
        self.why = why


# ---- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OriginateResult:
    """The ``OriginateResponse`` event of an Originate."""

    action_id: str
    success: bool
    reason: int
    channel: str
    uniqueid: str
    event: dict[str, str]

    @classmethod
    def from_event(cls, event: Message) -> OriginateResult:
        reason = event.reason
        return cls(
            action_id=event.actionid,
            success=event.response == "Success",
            reason=int(reason) if reason.isdigit() else 0,
            channel=event.channel,
            uniqueid=event.uniqueid,
            event=dict(event.items()),
        )


def _messages(result: Message | list[Message]) -> list[Message]:
    return result if isinstance(result, list) else [result]


# ---- one connection ----------------------------------------------------------------------------------


class _Link:
    """One TCP connection: the ``factory`` panoramisk's AMIProtocol reports to."""

    save_stream = None
    forgetable_actions = ()

    def __init__(self, client: AmiClient, protocol: AMIProtocol) -> None:
        self.client = client
        self.protocol = protocol
        # AMIProtocol.close() parks unanswered actions here for Manager to replay; we never do.
        self.awaiting_actions: collections.deque[Action] = collections.deque()
        self.pending: dict[str, Action] = {}
        self.lost = asyncio.Event()
        self.watchdog: asyncio.Task | None = None

    def send(self, headers: Mapping[str, str]) -> Action:
        action = Action(dict(headers))
        if action.id in self.pending:
            raise AmiHeaderError(f"ActionID {action.id!r} is already waiting for an answer")
        self.pending[action.id] = action
        # as_list=None lets Action tell a single answer from an event list, and keeps an async
        # Originate's future open after "successfully queued" until its OriginateResponse.
        self.protocol.send(action, as_list=None)
        return action

    def forget(self, action: Action) -> None:
        self.pending.pop(action.id, None)
        self.protocol.responses.pop(action.id, None)

    def dispatch(self, message: Message) -> None:
        """An event panoramisk parsed: one carrying an ActionID no action waits for, or Shutdown."""
        self.client._dispatch(message.event, lambda: {k: v for k, v in message.items() if k != "content"})

    def event(self, name: str, frame: str) -> None:
        self.client._dispatch(name, lambda: parse_event(frame))

    def connection_lost(self, reason: object) -> None:
        if self.lost.is_set():
            return
        self.lost.set()
        for action in self.pending.values():
            if not action.future.done():
                action.future.set_exception(AmiConnectionLost(f"link lost: {reason}"))
        self.client._link_lost(self, reason)

    def drop(self, reason: str) -> None:
        """Close from our side (AMIProtocol then reports nothing, so report it here)."""
        self.protocol.close()
        self.connection_lost(reason)


# ---- the client -----------------------------------------------------------------------------------------


class AmiClient:
    """A logged-in AMI link that keeps itself up. Not thread-safe: use it from one event loop.

    ``await start()`` connects and logs in (raising :class:`AmiAuthError`, ``OSError``…);
    afterwards the link is watched and re-opened with backoff ``reconnect_delay`` ×2ⁿ up to
    ``reconnect_max_delay`` until :meth:`close`.
    """

    def __init__(
        self,
        host: str,
        port: int = 5038,
        username: str = "",
        secret: str = "",
        *,
        events: str = "on",
        connect_timeout: float = 5.0,
        action_timeout: float = 10.0,
        originate_margin: float = 30.0,
        ping_interval: float = 10.0,
        ping_timeout: float = 5.0,
        reconnect_delay: float = 0.5,
        reconnect_max_delay: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self._login = validate_headers({"Username": username, "Secret": secret, "Events": events})
        self.connect_timeout = connect_timeout
        self.action_timeout = action_timeout
        self.originate_margin = originate_margin
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.reconnect_delay = reconnect_delay
        self.reconnect_max_delay = reconnect_max_delay
        self._event_callbacks: list[tuple[re.Pattern[str], EventCallback]] = []
        self._routes: dict[str, tuple[EventCallback, ...]] = {}  # event name -> its callbacks
        self._connected_callbacks: list[StateCallback] = []
        self._disconnected_callbacks: list[StateCallback] = []
        self._link: _Link | None = None
        self._supervisor: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()
        self._closing = False

    # ---- callbacks ----------------------------------------------------------------------------------

    def on_event(self, pattern: str, callback: EventCallback) -> None:
        """Call ``callback(event)`` for events whose name matches ``pattern`` (fnmatch, e.g.
        ``"UserEvent"``, ``"Dial*"``, ``"*"``) with the event's headers (:data:`Event`). An
        exception in it is logged, never fatal. Events no callback matches are not even parsed."""
        self._event_callbacks.append((re.compile(fnmatch.translate(pattern), re.IGNORECASE), callback))
        self._routes.clear()

    def on_connected(self, callback: StateCallback) -> None:
        """Called after every successful login (the first one included), awaited in order."""
        self._connected_callbacks.append(callback)

    def on_disconnected(self, callback: StateCallback) -> None:
        self._disconnected_callbacks.append(callback)

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.lost.is_set()

    # ---- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._closing = False
        await self._open()
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def wait_connected(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.connected:
            if deadline is not None and time.monotonic() > deadline:
                raise AmiTimeout(f"not connected to {self.host}:{self.port} after {timeout} s")
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Log off and stop reconnecting. Pending actions fail with :class:`AmiConnectionLost`."""
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
        if self.connected:
            try:
                await self.send_action({"Action": "Logoff"}, timeout=1.0)
            except AmiError as exc:
                _logger.debug("Logoff not acknowledged: %s", exc)
        if self._link is not None:
            self._link.drop("closed by us")
        for task in [self._supervisor, *self._background]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*filter(None, [self._supervisor, *self._background]), return_exceptions=True)

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(AmiProtocol, self.host, self.port), self.connect_timeout
        )
        link = _Link(self, protocol)
        protocol.factory = link
        try:
            response = await self._request(link, {"Action": "Login", **self._login}, self.connect_timeout)
        except AmiError:
            link.drop("login failed")
            raise
        if not response.success:
            link.drop("login refused")
            raise AmiAuthError(response)
        self._link = link
        link.watchdog = loop.create_task(self._watch(link))
        _logger.info("AMI logged in to %s:%d as %s", self.host, self.port, self._login["Username"])
        await self._notify(self._connected_callbacks)

    async def _supervise(self) -> None:
        while not self._closing:
            await self._link.lost.wait()
            attempt = 0
            while not self._closing:
                delay = min(self.reconnect_max_delay, self.reconnect_delay * 2**attempt)
                await asyncio.sleep(delay)
                try:
                    await self._open()
                    break
                except (OSError, asyncio.TimeoutError, AmiError) as exc:
                    attempt += 1
                    _logger.warning(
                        "AMI reconnect to %s:%d failed (%s); next in %.1f s",
                        self.host,
                        self.port,
                        exc,
                        min(self.reconnect_max_delay, self.reconnect_delay * 2**attempt),
                    )

    async def _watch(self, link: _Link) -> None:
        """Ping watchdog: no Pong within ``ping_timeout`` → drop the link (then reconnect)."""
        while not link.lost.is_set():
            await asyncio.sleep(self.ping_interval)
            if link.lost.is_set():
                return
            try:
                await self._request(link, {"Action": "Ping"}, self.ping_timeout)
            except AmiTimeout:
                _logger.warning("AMI: no answer to Ping within %s s, dropping the link", self.ping_timeout)
                link.drop("ping timeout")
            except AmiConnectionLost:
                return

    def _link_lost(self, link: _Link, reason: object) -> None:
        if link.watchdog is not None:
            link.watchdog.cancel()
        if link is self._link:
            _logger.warning("AMI link to %s:%d lost: %s", self.host, self.port, reason)
            self._spawn(self._notify(self._disconnected_callbacks))

    async def _notify(self, callbacks: list[StateCallback]) -> None:
        for callback in callbacks:
            try:
                result = callback(self)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                _logger.exception("AMI connection-state callback %r failed", callback)

    def _dispatch(self, name: str, read: Callable[[], Event]) -> None:
        """The event ``name`` to its callbacks, read (``read()``) only if it has some."""
        callbacks = self._routes.get(name)
        if callbacks is None:  # one entry per event name Asterisk has: a bounded cache
            callbacks = tuple(callback for pattern, callback in self._event_callbacks if pattern.match(name))
            self._routes[name] = callbacks
        event = read() if callbacks else None
        for callback in callbacks:
            try:
                result = callback(event)
            except Exception:
                _logger.exception("AMI event callback %r failed on %s", callback, name)
                continue
            if result is not None and inspect.isawaitable(result):  # isawaitable is dear, per event
                self._spawn(result)

    def _spawn(self, awaitable: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(awaitable)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _logger.error("AMI callback failed", exc_info=task.exception())

    # ---- actions ------------------------------------------------------------------------------------------

    async def _request(self, link: _Link, headers: Mapping[str, str], timeout: float) -> Any:
        action = link.send(headers)
        try:
            return await asyncio.wait_for(action.future, timeout)
        except asyncio.TimeoutError:
            raise AmiTimeout(f"{headers.get('Action')}: no answer within {timeout} s") from None
        finally:
            link.forget(action)

    def _live_link(self) -> _Link:
        if not self.connected:
            raise AmiNotConnected(f"not connected to {self.host}:{self.port}")
        return self._link

    async def send_action(
        self, headers: Mapping[str, object], timeout: float | None = None
    ) -> Message | list[Message]:
        """Validate, send, and return the answer: one ``Message``, or the list of an event list
        (``EventList: start`` … ``…Complete``). ``Response: Error`` is returned, not raised."""
        checked = validate_headers(headers)
        return await self._request(self._live_link(), checked, timeout or self.action_timeout)

    async def _expect_success(self, headers: Mapping[str, object]) -> list[Message]:
        messages = _messages(await self.send_action(headers))
        if not messages[0].success:
            raise AmiActionError(messages[0])
        return messages

    async def originate(self, headers: Mapping[str, object], timeout: float | None = None) -> OriginateResult:
        """Send one asynchronous Originate built from AMI headers (``Channel``, ``Context``,
        ``Exten``, ``Priority``, ``Application``, ``Data``, ``Timeout``, ``CallerID``,
        ``ChannelId``, ``OtherChannelId``, ``Variable`` as a mapping or a joined string,
        optionally ``ActionID``) and return its ``OriginateResponse``.

        Raises :class:`AmiHeaderError` (nothing sent), :class:`AmiNotConnected` (nothing
        sent), :class:`AmiActionError` (refused, nothing dialled, e.g. Permission denied) or
        :class:`OriginateUnknown` (sent; outcome unknown: reconcile, do not re-send).
        """
        for name, value in headers.items():
            if name.lower() == "action" and str(value).lower() != "originate":
                raise AmiHeaderError(f"originate() sends Action: Originate, not {value!r}")
            if name.lower() == "async" and str(value).lower() not in _TRUE:
                raise AmiHeaderError("originate() is asynchronous only: its outcome is the OriginateResponse")
        fields = validate_headers({k: v for k, v in headers.items() if k.lower() not in ("action", "async")})
        fields = {"Action": "Originate", **fields, "Async": "true"}
        ring_ms = next((v for k, v in fields.items() if k.lower() == "timeout"), "30000")
        wait = timeout or (int(ring_ms) / 1000 if ring_ms.isdigit() else 30.0) + self.originate_margin
        link = self._live_link()
        action = link.send(fields)
        try:
            result = await asyncio.wait_for(action.future, wait)
        except AmiConnectionLost as exc:
            raise OriginateUnknown(action.id, fields, "link lost after the Originate was written") from exc
        except asyncio.TimeoutError:
            raise OriginateUnknown(action.id, fields, f"no OriginateResponse within {wait:g} s") from None
        finally:
            link.forget(action)
        messages = _messages(result)
        event = next((m for m in messages if m.event == "OriginateResponse"), None)
        if event is not None:
            return OriginateResult.from_event(event)
        raise AmiActionError(messages[0])

    async def ping(self) -> float:
        """Round trip of a Ping, in seconds."""
        started = time.monotonic()
        await self._expect_success({"Action": "Ping"})
        return time.monotonic() - started

    async def db_put(self, family: str, key: str, value: str) -> None:
        await self._expect_success({"Action": "DBPut", "Family": family, "Key": key, "Val": value})

    async def db_get(self, family: str, key: str) -> str | None:
        """The value, or ``None`` when AstDB has no such entry."""
        messages = _messages(await self.send_action({"Action": "DBGet", "Family": family, "Key": key}))
        if messages[0].response == "Error" and messages[0].message == "Database entry not found":
            return None
        if not messages[0].success:
            raise AmiActionError(messages[0])
        return next((m.val for m in messages if m.event == "DBGetResponse"), None)

    async def db_del(self, family: str, key: str) -> bool:
        """``False`` when there was no such entry."""
        messages = _messages(await self.send_action({"Action": "DBDel", "Family": family, "Key": key}))
        if messages[0].response == "Error" and messages[0].message == "Database entry not found":
            return False
        if not messages[0].success:
            raise AmiActionError(messages[0])
        return True

    async def core_show_channels(self) -> list[dict[str, str]]:
        messages = await self._expect_success({"Action": "CoreShowChannels"})
        return [dict(m.items()) for m in messages if m.event == "CoreShowChannel"]

    async def device_state_list(self) -> list[dict[str, str]]:
        """The ``DeviceStateChange`` items of ``DeviceStateList``: every device in Asterisk's
        device state cache with its state (an empty list on a server that had no activity)."""
        messages = await self._expect_success({"Action": "DeviceStateList"})
        return [dict(m.items()) for m in messages if m.event == "DeviceStateChange"]

    async def hangup(self, channel: str, cause: int = 16) -> bool:
        """Hang up a channel (or, written ``/regex/``, all matches); ``False`` if none was found."""
        messages = _messages(await self.send_action({"Action": "Hangup", "Channel": channel, "Cause": cause}))
        if messages[0].response == "Error" and messages[0].message == "No such channel":
            return False
        if not messages[0].success:
            raise AmiActionError(messages[0])
        return len(messages) == 1 or any(m.event == "ChannelHungup" for m in messages)

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        await self._expect_success(
            {
                "Action": "Redirect",
                "Channel": channel,
                "Context": context,
                "Exten": exten,
                "Priority": priority,
            }
        )

    async def user_event(self, name: str, fields: Mapping[str, object] | None = None) -> None:
        await self._expect_success({"Action": "UserEvent", "UserEvent": name, **(fields or {})})

    async def logoff(self) -> None:
        """Alias of :meth:`close`: log off and stay disconnected."""
        await self.close()

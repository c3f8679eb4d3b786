"""The simulator as tests and the CLI use it: a TCP server, its PBX, users and faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .astdb import AstDB
from .calls import Pbx, SimCall
from .faults import Faults
from .permissions import DEFAULT_USER, DEFAULT_USERNAME, AmiUser
from .protocol import ActionMessage, Header
from .scenario import Scenario
from .server import AmiSession

_logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class LoggedAction:
    """An action as the simulator received it: tells an injected header from a real action."""

    serial: int
    session: int
    username: str
    headers: tuple[Header, ...]
    received_at: float

    @property
    def name(self) -> str:
        return ActionMessage(self.headers).name

    def get(self, header: str, default: str = "") -> str:
        return ActionMessage(self.headers).get(header, default)


class PbxSimulator:
    """An Asterisk 22 look-alike on AMI.

    ``users`` maps a username to an :class:`AmiUser` or to a bare secret (all permissions);
    by default one least-privilege user ``dialer`` / ``dialer-secret``. Control methods that
    touch the network (:meth:`drop_connections`) may be called from any thread; coroutines
    can be run from another thread with :meth:`run`.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        users: Mapping[str, AmiUser | str] | None = None,
        *,
        faults: Faults | None = None,
        log_actions: str | Path | None = None,
    ) -> None:
        self.scenario = scenario or Scenario()
        given = users if users is not None else {DEFAULT_USERNAME: DEFAULT_USER}
        self.users = {name: AmiUser(user) if isinstance(user, str) else user for name, user in given.items()}
        self.faults = faults or Faults()
        self.astdb = AstDB()
        self.actions_log: list[LoggedAction] = []
        self._log_path = Path(log_actions) if log_actions else None
        self._sessions: set[AmiSession] = set()
        self._session_tasks: set[asyncio.Task] = set()
        self._session_numbers = 0
        self._server: asyncio.AbstractServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = time.monotonic()
        self.pbx: Pbx | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self.pbx = Pbx(self.scenario, self.astdb, self._publish)
        self._server = await asyncio.start_server(self._accept, host, port)
        _logger.info("AMI simulator listening on %s:%d", host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for session in list(self._sessions):
                session.abort()
            await asyncio.gather(*self._session_tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        if self.pbx is not None:
            await self.pbx.cancel()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return self._server.sockets[0].getsockname()[1]

    def uptime(self) -> int:
        return int(time.monotonic() - self._started)

    # ---- what tests look at -------------------------------------------------------------------

    @property
    def calls(self) -> list[SimCall]:
        return self.pbx.calls if self.pbx else []

    @property
    def channels(self) -> list[str]:
        return list(self.pbx.channels) if self.pbx else []

    def actions(self, name: str) -> list[LoggedAction]:
        """Logged actions named ``name`` (case-insensitive)."""
        return [logged for logged in self.actions_log if logged.name.lower() == name.lower()]

    def call(self, uuid: str) -> SimCall:
        return next(call for call in self.calls if call.uuid == uuid)

    def device_state(self, device: str) -> str:
        return self.pbx.devices.state(device) if self.pbx else "NOT_INUSE"

    # ---- agents' phones -----------------------------------------------------------------------

    def outside_call(self, device: str, up: bool = True) -> None:
        """Put ``device`` on a call the dialer did not place (``up``), or end that call."""
        self._in_loop(lambda: self.pbx.devices.outside_call(device, up))

    def register_device(self, device: str, registered: bool = True) -> None:
        """Register the phone ``device`` or take it off (``UNAVAILABLE``)."""
        self._in_loop(lambda: self.pbx.devices.register(device, registered))

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no channel is up and every call has ended."""
        deadline = time.monotonic() + timeout
        while self.channels or not all(call.ended for call in self.calls):
            if time.monotonic() > deadline:
                raise TimeoutError(f"calls still up after {timeout} s: {self.channels}")
            await asyncio.sleep(0.005)

    # ---- faults ---------------------------------------------------------------------------------

    def drop_connections(self) -> None:
        """Cut every AMI connection now; calls go on (as when a network link fails)."""
        self._in_loop(self._drop_all)

    async def shutdown(self, restart: bool = False, hang_up_calls: bool = True) -> None:
        """``Event: Shutdown`` then close every connection, as ``core stop/restart now`` does.
        Calls in progress are hung up (their hangup handlers still write AstDB); the listener
        stays open, so clients find a freshly restarted Asterisk."""
        state = "Uncleanly" if self.pbx and self.pbx.active() else "Cleanly"
        self._publish(
            "Shutdown", "system,all", [("Shutdown", state), ("Restart", "True" if restart else "False")]
        )
        if hang_up_calls and self.pbx is not None:
            await self.pbx.hangup_all()
        for session in list(self._sessions):
            session.close()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine of this simulator from a thread other than its own."""
        assert self._loop is not None, "start() first"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _drop_all(self) -> None:
        for session in list(self._sessions):
            session.abort()

    def _in_loop(self, function: Any) -> None:
        assert self._loop is not None, "start() first"
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            function()
        else:
            asyncio.run_coroutine_threadsafe(_call(function), self._loop).result(10)

    # ---- sessions ------------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._session_numbers += 1
        session = AmiSession(self, reader, writer, self._session_numbers)
        self._sessions.add(session)
        task = asyncio.current_task()
        self._session_tasks.add(task)
        try:
            await session.serve()
        finally:
            self._session_tasks.discard(task)

    def forget(self, session: AmiSession) -> None:
        self._sessions.discard(session)

    def log_action(self, session: AmiSession, action: ActionMessage) -> int:
        logged = LoggedAction(
            len(self.actions_log) + 1, session.number, session.username, action.headers, time.time()
        )
        self.actions_log.append(logged)
        if self._log_path is not None:
            with self._log_path.open("a", encoding="utf-8") as log:
                record = {"serial": logged.serial, "session": logged.session, "headers": logged.headers}
                log.write(json.dumps(record) + "\n")
        return logged.serial

    def _publish(self, name: str, privilege: str, headers: list[Header]) -> None:
        for session in list(self._sessions):
            session.deliver(name, privilege, headers)


async def _call(function: Any) -> None:
    function()


@contextlib.contextmanager
def run_in_thread(
    scenario: Scenario | None = None,
    users: Mapping[str, AmiUser | str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Any,
) -> Iterator[PbxSimulator]:
    """A running simulator on its own event loop thread, for synchronous tests (Odoo's)::

    with run_in_thread(Scenario(seed=1, time_scale=0.01)) as sim:
        server.ami_port = sim.port
    """
    simulator = PbxSimulator(scenario, users, **options)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(simulator.start(host, port))
        except BaseException as exc:  # reported to the caller's thread below
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(simulator.stop())
        loop.close()

    thread = threading.Thread(target=serve, name="pbxsim", daemon=True)
    thread.start()
    ready.wait()
    if failure:
        raise failure[0]
    try:
        yield simulator
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

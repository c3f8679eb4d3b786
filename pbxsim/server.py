"""One AMI connection: read actions, answer them, pass on the events its user may read.

Like an Asterisk manager session, actions are handled one at a time and the events raised
while an action runs are held until its response is written (hence transcript 09, where a
synchronous Originate's ``Response`` comes before the events of the call it made).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from . import actions
from .permissions import AmiUser, parse_classes
from .protocol import BANNER, ActionMessage, ActionParser, Header, encode

if TYPE_CHECKING:
    from .simulator import PbxSimulator

_logger = logging.getLogger(__name__)


class AmiSession:
    def __init__(
        self, simulator: PbxSimulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        self.simulator = simulator
        self.number = number
        self.username = ""
        self.user: AmiUser | None = None
        self._events: frozenset[str] = frozenset()
        self._reader = reader
        self._writer = writer
        self._held: list[bytes] | None = None
        self.closed = False

    def log_in(self, username: str, user: AmiUser, events: str) -> None:
        self.username, self.user = username, user
        wanted = events.strip().lower()
        if wanted in ("off", "no", "false", "0"):
            self._events = frozenset()
        elif wanted in ("on", "yes", "true", "1", ""):
            self._events = user.read
        else:
            self._events = user.read & parse_classes(wanted)

    def wants(self, event_class: str) -> bool:
        return event_class in self._events

    async def serve(self) -> None:
        parser = ActionParser()
        try:
            self._writer.write(BANNER)
            while not self.closed and (data := await self._reader.read(65536)):
                for action in parser.feed(data):
                    serial = self.simulator.log_action(self, action)
                    if self.simulator.faults.frozen:
                        continue
                    await self._handle(action, serial)
                    if self.closed:
                        break
        except (ConnectionError, asyncio.IncompleteReadError):
            _logger.debug("session %d: connection lost", self.number)
        finally:
            self.close()

    async def _handle(self, action: ActionMessage, serial: int) -> None:
        self._held = []
        try:
            reply = await actions.dispatch(self, action)
        finally:
            held, self._held = self._held, None
        faults = self.simulator.faults
        if faults.drop_after_action(action.name, serial):
            _logger.info("session %d: dropped after action %d (%s)", self.number, serial, action.name)
            self.abort()
            return
        data = b"".join(encode(message) for message in reply.messages)
        if faults.ack_lost(action.name):
            data = b""
        elif delay := faults.ack_delay(action.name):
            asyncio.get_running_loop().call_later(delay, self._write, data)
            data = b""
        self._write(data + b"".join(held))
        if reply.close:
            await self._drain()
            self.close()

    def deliver(self, name: str, privilege: str, headers: list[Header]) -> None:
        """An event for every session whose user reads its class (``call`` in ``call,all``)."""
        if self.closed or self.simulator.faults.frozen or not self.wants(privilege.partition(",")[0]):
            return
        data = encode([("Event", name), ("Privilege", privilege), *headers])
        if self._held is not None:
            self._held.append(data)
        else:
            self._write(data)

    def _write(self, data: bytes) -> None:
        if data and not self.closed:
            self._writer.write(data)

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except ConnectionError:
            _logger.debug("session %d: peer gone before the last write", self.number)

    def abort(self) -> None:
        """Drop the TCP connection at once, unsent data included (a network failure)."""
        if not self.closed:
            self._writer.transport.abort()
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._writer.close()
        self.simulator.forget(self)

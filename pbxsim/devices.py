"""Device states of the agents' phones, as Asterisk's device state core reports them.

A device is what an agent channel dials (``PJSIP/1001``); its state follows the channels on it
(``ast_state_chan2dev()``): one ringing → ``RINGING``, one up → ``INUSE``, both → ``RINGINUSE``,
none → ``NOT_INUSE``. Two knobs play what the dialer cannot see otherwise: a call on the phone
that the dialer did not place (the agent took or made a call of their own: ``INUSE``, and an
Originate to the device finds it busy) and an unregistered phone (``UNAVAILABLE``: an Originate
to it fails before any channel exists). Every change is published as ``DeviceStateChange``
(``Device``, ``State``; class ``call``), only when the state changes, after the channel event
that caused it (Asterisk's device state thread runs behind the channel's own events).
``DeviceStateList`` lists every device that has had a state since the simulator started, as
Asterisk lists its device state cache: a simulator with no activity lists none (transcript 14).
Local channels are not tracked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from .protocol import Header

RINGING_STATES = frozenset({4, 5})  # Ring, Ringing
UP_STATE = 6

Publish = Callable[[str, str, list[Header]], None]


def device_of(dial: str) -> str | None:
    """The device an Originate's channel dials (``PJSIP/1001``), ``None`` for a Local channel."""
    technology = dial.partition("/")[0]
    return None if technology.lower() == "local" else dial


class Devices:
    """The device state of every agent phone the simulator has seen."""

    def __init__(self, publish: Publish, busy: Iterable[str] = (), unregistered: Iterable[str] = ()) -> None:
        self._publish = publish
        self._channels: dict[str, dict[str, int]] = {}  # device -> channel name -> channel state
        self._outside: Counter[str] = Counter()
        self._unregistered: set[str] = set(unregistered)
        self.states: dict[str, str] = {}
        for device in busy:
            self._outside[device] += 1
        for device in {*self._outside, *self._unregistered}:
            self.states[device] = self._state(device)

    def state(self, device: str) -> str:
        return self.states.get(device, "NOT_INUSE")

    def busy_outside(self, device: str) -> bool:
        """On a call the dialer did not place: an Originate to it finds it busy."""
        return self._outside[device] > 0

    def unavailable(self, device: str) -> bool:
        return device in self._unregistered

    def channel_state(self, device: str, channel: str, state: int | None) -> None:
        """A channel on ``device`` changed state; ``None``: it hung up."""
        channels = self._channels.setdefault(device, {})
        if state is None:
            channels.pop(channel, None)
        else:
            channels[channel] = state
        self._update(device)

    def outside_call(self, device: str, up: bool) -> None:
        """Start (``up``) or end a call on the phone that the dialer did not place."""
        if up:
            self._outside[device] += 1
        elif self._outside[device]:
            self._outside[device] -= 1
        self._update(device)

    def register(self, device: str, registered: bool) -> None:
        (self._unregistered.discard if registered else self._unregistered.add)(device)
        self._update(device)

    def list_items(self, action_id: str) -> list[list[Header]]:
        """``DeviceStateList``'s items: one ``DeviceStateChange`` per device, with the ActionID."""
        action = [("ActionID", action_id)] if action_id else []
        return [
            [("Event", "DeviceStateChange"), *action, ("Device", device), ("State", state)]
            for device, state in self.states.items()
        ]

    def _state(self, device: str) -> str:
        if device in self._unregistered:
            return "UNAVAILABLE"
        states = self._channels.get(device, {}).values()
        ringing = any(state in RINGING_STATES for state in states)
        in_use = self._outside[device] > 0 or any(state == UP_STATE for state in states)
        if ringing:
            return "RINGINUSE" if in_use else "RINGING"
        return "INUSE" if in_use else "NOT_INUSE"

    def _update(self, device: str) -> None:
        state = self._state(device)
        if self.states.get(device) == state:
            return
        self.states[device] = state
        self._publish("DeviceStateChange", "call,all", [("Device", device), ("State", state)])

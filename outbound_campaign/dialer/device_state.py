"""Agents' phones as Asterisk sees them: which device an agent channel is, and whether it is free.

Asterisk raises ``DeviceStateChange`` (class ``call``: the dialer's AMI user reads it) for every
device whose state changes, hint or no hint, with ``Device`` and ``State`` (``ast_devstate_str()``:
``UNKNOWN``, ``NOT_INUSE``, ``INUSE``, ``BUSY``, ``INVALID``, ``UNAVAILABLE``, ``RINGING``,
``RINGINUSE``, ``ONHOLD``). ``DeviceStateList`` answers with one ``DeviceStateChange`` per device
in its cache, each carrying our ActionID, then ``DeviceStateListComplete``; a device with no
activity since Asterisk started is not listed.

The rule: an agent is offered a call only when their phone is free, ``NOT_INUSE``, or when nothing
tells it is not: ``UNKNOWN`` (the channel driver has no state for it) or no state heard at all
(not listed, not changed since we connected). Anything else keeps the agent out of the plan:
``INUSE``/``BUSY``/``ONHOLD`` (on another call, one we did not place), ``RINGING``/``RINGINUSE``
(ringing already), ``UNAVAILABLE`` (the phone is not registered), ``INVALID`` (no such device).

The device of an agent channel is the channel itself: ``PJSIP/1001`` is the device
``PJSIP/1001``, ``SIP/alice`` is ``SIP/alice``. An agent reached through a Local channel
(``Local/1001@agents``) is the device ``Local/1001@agents``, whose state Asterisk derives from the
Local channels up to that extension (``INUSE`` while one is up, ``INVALID`` when the extension does
not exist), not from the phone behind it: such an agent is held back only while we ring them or
when the extension is missing. A dial option suffix (``Local/1001@agents/n``) is not part of the
device name and is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

NOT_INUSE = "NOT_INUSE"
UNKNOWN = "UNKNOWN"
#: The states in which an agent's phone can take our call.
FREE_STATES = frozenset({NOT_INUSE, UNKNOWN})
#: Every state ``ast_devstate_str()`` names; anything else heard is ignored.
KNOWN_STATES = frozenset(
    {UNKNOWN, NOT_INUSE, "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING", "RINGINUSE", "ONHOLD"}
)

A = TypeVar("A")


def is_local(channel: str) -> bool:
    """Whether ``channel`` (or a device) is a Local one: any other channel is its own device."""
    return channel.partition("/")[0].lower() == "local"


def device_of(channel: str) -> str:
    """The Asterisk device an agent channel rings: the channel without any dial option suffix."""
    if is_local(channel):
        technology, _sep, resource = channel.partition("/")
        return f"{technology}/{resource.partition('/')[0]}"
    return channel


def offerable(state: str | None) -> bool:
    """Whether an agent whose phone is in ``state`` (``None``: never heard) may be offered a call."""
    return state is None or state in FREE_STATES


def device_change(event: Mapping[str, object]) -> tuple[str, str] | None:
    """``(device, state)`` of a ``DeviceStateChange`` event (live or a ``DeviceStateList`` item),
    or ``None`` for any other event or a state Asterisk does not name."""
    if _header(event, "Event") != "DeviceStateChange":
        return None
    device, state = _header(event, "Device"), (_header(event, "State") or "").upper()
    if not device or state not in KNOWN_STATES:
        return None
    return device, state


def fold_device_states(known: Mapping[str, str], events: Iterable[Mapping[str, object]]) -> dict[str, str]:
    """The devices whose state ``events`` change from ``known``: ``{device: new state}``."""
    changed: dict[str, str] = {}
    current = dict(known)
    for event in events:
        change = device_change(event)
        if change is None or current.get(change[0]) == change[1]:
            continue
        current[change[0]] = change[1]
        changed[change[0]] = change[1]
    return changed


def free_agents(agents: Sequence[A], states: Mapping[str, str]) -> list[A]:
    """The agents (anything with a ``channel``) whose phone may take a call now, in their order."""
    return [agent for agent in agents if offerable(states.get(device_of(agent.channel)))]


def _header(event: Mapping[str, object], key: str) -> str | None:
    value = event.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value).strip()

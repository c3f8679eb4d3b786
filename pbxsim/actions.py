"""The AMI actions the simulator answers, with Asterisk 22's wording (see the transcripts)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .calls import Goto, Hangup, OriginateRequest
from .permissions import ACTION_AUTHORITY
from .protocol import ActionMessage, Header, iter_pairs

if TYPE_CHECKING:
    from .server import AmiSession

CALLER_ID = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<(?P<num>[^>]*)>\s*$')
ORIGINATE_DEFAULT_TIMEOUT_MS = 30000


@dataclass
class Reply:
    """Messages to write for one action (a response, then any event-list items), in order."""

    messages: list[list[Header]] = field(default_factory=list)
    close: bool = False


def response(action: ActionMessage, status: str, message: str | None = None, *extra: Header) -> list[Header]:
    headers: list[Header] = [("Response", status)]
    if action.action_id:
        headers.append(("ActionID", action.action_id))
    if message is not None:
        headers.append(("Message", message))
    return [*headers, *extra]


def error(action: ActionMessage, message: str) -> Reply:
    return Reply([response(action, "Error", message)])


def success(action: ActionMessage, message: str | None = None, *extra: Header) -> Reply:
    return Reply([response(action, "Success", message, *extra)])


def event_list(action: ActionMessage, message: str, event: str, items: list[list[Header]]) -> Reply:
    """``EventList: start`` ack, the items, and the ``…Complete`` event (transcripts 10, 11, 14)."""
    action_id = [("ActionID", action.action_id)] if action.action_id else []
    complete = [("Event", event), *action_id, ("EventList", "Complete"), ("ListItems", str(len(items)))]
    return Reply(
        [response(action, "Success", None, ("EventList", "start"), ("Message", message)), *items, complete]
    )


async def dispatch(session: AmiSession, action: ActionMessage) -> Reply:
    name = action.name.lower()
    if not name:
        return error(action, "Missing action in request")
    if session.user is None and name not in ("login", "logoff", "challenge"):
        return error(action, "Permission denied")
    handler = HANDLERS.get(name)
    if handler is None:
        return error(
            action,
            f"Invalid/unknown command: {action.name}. Use Action: ListCommands to show available commands.",
        )
    if name in ACTION_AUTHORITY and session.user is not None and not session.user.may_run(name):
        return error(action, "Permission denied")
    return await handler(session, action)


async def login(session: AmiSession, action: ActionMessage) -> Reply:
    user = session.simulator.users.get(action.get("Username"))
    if user is None or user.secret != action.get("Secret"):
        return Reply([response(action, "Error", "Authentication failed")], close=True)
    session.log_in(action.get("Username"), user, action.get("Events", "on"))
    reply = success(action, "Authentication accepted")
    if session.wants("system"):
        uptime = str(session.simulator.uptime())
        reply.messages.append(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", uptime),
                ("LastReload", uptime),
                ("Status", "Fully Booted"),
            ]
        )
    return reply


async def logoff(session: AmiSession, action: ActionMessage) -> Reply:
    return Reply([response(action, "Goodbye", "Thanks for all the fish.")], close=True)


async def ping(session: AmiSession, action: ActionMessage) -> Reply:
    now = time.time()
    return Reply([response(action, "Success", None, ("Ping", "Pong"), ("Timestamp", f"{now:.6f}"))])


def _originate_request(action: ActionMessage, timeout_ms: int, priority: int) -> OriginateRequest:
    caller_id = action.get("CallerID")
    caller_name, caller_num = "", caller_id
    if match := CALLER_ID.match(caller_id):
        caller_name, caller_num = match["name"].strip(), match["num"]
    variables: dict[str, str] = {}
    for header in action.get_all("Variable"):
        variables.update(iter_pairs(header))
    return OriginateRequest(
        channel=action.get("Channel"),
        context=action.get("Context"),
        exten=action.get("Exten"),
        priority=priority,
        application=action.get("Application"),
        data=action.get("Data"),
        timeout=timeout_ms / 1000,
        caller_name=caller_name or "<unknown>",
        caller_num=caller_num or "<unknown>",
        channel_id=action.get("ChannelId"),
        other_channel_id=action.get("OtherChannelId"),
        variables=variables,
        action_id=action.action_id,
    )


async def originate(session: AmiSession, action: ActionMessage) -> Reply:
    channel = action.get("Channel")
    if not channel:
        return error(action, "Channel not specified")
    for header in ("ChannelId", "OtherChannelId"):
        if len(action.get(header)) > 149:
            return error(action, "Uniqueid length exceeds maximum of 149")
    priority_text = action.get("Priority", "1")
    if not re.match(r"^\s*-?\d+", priority_text):
        return error(action, "Invalid priority")
    timeout_text = action.get("Timeout", str(ORIGINATE_DEFAULT_TIMEOUT_MS))
    if not re.match(r"^\s*-?\d+", timeout_text):
        return error(action, "Invalid timeout")
    if "/" not in channel:
        return error(action, "Invalid channel")
    request = _originate_request(
        action, int(re.match(r"\s*(-?\d+)", timeout_text)[1]), int(re.match(r"\s*(-?\d+)", priority_text)[1])
    )
    pbx = session.simulator.pbx
    if action.get("Async").lower() in ("true", "yes", "1", "on", "y", "t"):
        pbx.originate(request)
        return success(action, "Originate successfully queued")
    # Without Async the session waits for the outcome; its events are held back meanwhile.
    outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    pbx.originate(request, on_result=outcome.set_result)
    if await outcome:
        return success(action, "Originate successfully queued")
    return error(action, "Originate failed")


def _cause(text: str) -> int:
    return int(text) if text.isdigit() and 0 < int(text) <= 127 else 16


async def hangup(session: AmiSession, action: ActionMessage) -> Reply:
    name = action.get("Channel")
    if not name:
        return error(action, "No channel specified")
    pbx = session.simulator.pbx
    cause = _cause(action.get("Cause"))
    if len(name) > 1 and name.startswith("/") and name.endswith("/"):
        try:
            pattern = re.compile(name[1:-1])
        except re.error:
            return error(action, "Invalid regex")
        matched = [channel for channel in list(pbx.channels.values()) if pattern.search(channel.name)]
        action_id = [("ActionID", action.action_id)] if action.action_id else []
        items = [[("Event", "ChannelHungup"), ("Channel", channel.name), *action_id] for channel in matched]
        for channel in matched:
            pbx.signal(channel, Hangup(cause))
        return event_list(action, "Channels hung up will follow", "ChannelsHungupListComplete", items)
    channel = pbx.find(name)
    if channel is None:
        return error(action, "No such channel")
    pbx.signal(channel, Hangup(cause))
    return success(action, "Channel Hungup")


async def redirect(session: AmiSession, action: ActionMessage) -> Reply:
    name = action.get("Channel")
    if not name:
        return error(action, "Channel not specified")
    for header in ("Context", "Exten", "Priority"):
        if not action.get(header):
            return error(action, f"{header} not specified")
    if not action.get("Priority").strip().isdigit():
        return error(action, "Invalid priority")
    pbx = session.simulator.pbx
    targets = [name, *filter(None, [action.get("ExtraChannel")])]
    channels = [pbx.find(target) for target in targets]
    for target, channel in zip(targets, channels, strict=True):
        if channel is None:
            return error(action, f"Channel does not exist: {target}")
    goto = Goto(action.get("Context"), action.get("Exten"), int(action.get("Priority")))
    for channel in channels:
        pbx.signal(channel, goto)
    return success(action, "Redirect successful")


async def user_event(session: AmiSession, action: ActionMessage) -> Reply:
    name = action.get("UserEvent")
    if not name:
        return error(action, "Missing UserEvent")
    body = [(key, value) for key, value in action.headers if key.lower() not in ("action", "userevent")]
    session.simulator.pbx.user_event(None, name, body)
    return success(action, "Event Sent")


async def core_show_channels(session: AmiSession, action: ActionMessage) -> Reply:
    pbx = session.simulator.pbx
    action_id = [("ActionID", action.action_id)] if action.action_id else []
    items = [
        [
            ("Event", "CoreShowChannel"),
            *action_id,
            *channel.snapshot(),
            ("Application", channel.application),
            ("ApplicationData", channel.app_data),
            ("Duration", pbx.duration(channel)),
            ("BridgeId", channel.bridge.id if channel.bridge else ""),
        ]
        for channel in pbx.channels.values()
    ]
    return event_list(action, "Channels will follow", "CoreShowChannelsComplete", items)


def _family_key(action: ActionMessage) -> Reply | None:
    if not action.get("Family"):
        return error(action, "No family specified")
    if not action.get("Key"):
        return error(action, "No key specified")
    return None


async def db_put(session: AmiSession, action: ActionMessage) -> Reply:
    if problem := _family_key(action):
        return problem
    session.simulator.astdb.put(action.get("Family"), action.get("Key"), action.get("Val"))
    return success(action, "Updated database successfully")


async def db_get(session: AmiSession, action: ActionMessage) -> Reply:
    if problem := _family_key(action):
        return problem
    family, key = action.get("Family"), action.get("Key")
    value = session.simulator.astdb.get(family, key)
    if value is None:
        return error(action, "Database entry not found")
    action_id = [("ActionID", action.action_id)] if action.action_id else []
    item = [("Event", "DBGetResponse"), ("Family", family), ("Key", key), ("Val", value), *action_id]
    return event_list(action, "Result will follow", "DBGetComplete", [item])


async def db_del(session: AmiSession, action: ActionMessage) -> Reply:
    if problem := _family_key(action):
        return problem
    if not session.simulator.astdb.delete(action.get("Family"), action.get("Key")):
        return error(action, "Database entry not found")
    return success(action, "Key deleted successfully")


async def device_state_list(session: AmiSession, action: ActionMessage) -> Reply:
    items = session.simulator.pbx.devices.list_items(action.action_id)
    return event_list(action, "Device State Changes will follow", "DeviceStateListComplete", items)


async def extension_state_list(session: AmiSession, action: ActionMessage) -> Reply:
    return event_list(action, "Extension Statuses will follow", "ExtensionStateListComplete", [])


HANDLERS: dict[str, Callable[[AmiSession, ActionMessage], Awaitable[Reply]]] = {
    "login": login,
    "logoff": logoff,
    "ping": ping,
    "originate": originate,
    "hangup": hangup,
    "redirect": redirect,
    "userevent": user_event,
    "coreshowchannels": core_show_channels,
    "dbput": db_put,
    "dbget": db_get,
    "dbdel": db_del,
    "devicestatelist": device_state_list,
    "extensionstatelist": extension_state_list,
}

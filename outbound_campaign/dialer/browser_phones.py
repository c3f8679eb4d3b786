"""Browser phones: an agent's phone may be a WebRTC SIP user agent in the console (JsSIP), registered
to Asterisk as a PJSIP endpoint made by the shipped wizard template ``oc-webrtc-agent``
(``data/asterisk/pjsip_wizard_outbound_campaign.conf``). Pure: the login rule, the channel an
endpoint is dialled as, the wizard entries a dialer server exports, and the supervisors' modes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .rules import RuleError, check_dial_string

#: A SIP login is the PJSIP endpoint's name: a wizard section name, the user part of the SIP URI and
#: the resource of the channel ``PJSIP/<login>``; nothing Asterisk's configuration or a URI would read
#: as syntax.
SIP_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
#: The template of ``pjsip_wizard_outbound_campaign.conf`` every exported entry inherits.
WIZARD_TEMPLATE = "oc-webrtc-agent"

#: A supervisor's mode → the extension of ``[oc-supervise]`` (ChanSpy's q, w or B options there).
SUPERVISION_MODES = ("listen", "whisper", "barge")


def check_sip_login(login: str) -> str:
    if not SIP_LOGIN.fullmatch(login or ""):
        raise RuleError(
            f"SIP login {login!r}: a letter or digit, then letters, digits and . _ - (40 at most)",
            "sip_login",
            str(login),
        )
    return login


def browser_channel(login: str) -> str:
    """The channel the dialer rings for a browser agent, checked by the dial-string rule."""
    return check_dial_string("Channel", f"PJSIP/{check_sip_login(login)}")


def spy_prefix(channel: str) -> str:
    """ChanSpy's channel prefix for an agent's phone: ``PJSIP/1001-`` matches the calls of
    ``PJSIP/1001`` (``PJSIP/1001-0000002a``) and never those of ``PJSIP/10012``."""
    return check_dial_string("Channel", channel) + "-"


def wizard_entries(logins_and_secrets: Iterable[tuple[str, str]]) -> str:
    """``pjsip_wizard.conf`` entries, one per browser agent, from the shipped template."""
    blocks = []
    for login, secret in logins_and_secrets:
        check_sip_login(login)
        if not secret or any(char in secret for char in "\r\n;[]") or secret != secret.strip():
            raise RuleError(
                f"SIP secret of {login!r}: missing or unfit for pjsip_wizard.conf", "sip_secret", login
            )
        blocks.append(
            f"[{login}]({WIZARD_TEMPLATE})\ninbound_auth/username = {login}\ninbound_auth/password = {secret}\n"
        )
    return "\n".join(blocks)


#: How long a supervisor's phone rings before the Originate gives up (ms).
SUPERVISION_RING_MS = 20000


def supervision_originate(supervisor_channel: str, agent_channel: str, mode: str, action_id: str) -> dict:
    """The Originate that rings the supervisor's phone into ``[oc-supervise]``, extension ``mode``,
    spying on the agent's phone (``OC_SPY``)."""
    if mode not in SUPERVISION_MODES:
        raise RuleError(f"supervision mode {mode!r}: one of {', '.join(SUPERVISION_MODES)}", "mode", mode)
    return {
        "ActionID": action_id,
        "Channel": check_dial_string("Channel", supervisor_channel),
        "Context": "oc-supervise",
        "Exten": mode,
        "Priority": "1",
        "Timeout": str(SUPERVISION_RING_MS),
        "CallerID": f'"{mode}" <{mode}>',
        "Variable": {"OC_SPY": spy_prefix(agent_channel)},
    }

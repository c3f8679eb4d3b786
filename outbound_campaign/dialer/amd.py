"""Answering-machine detection: a campaign's settings for Asterisk's ``AMD()`` (bounded, with
Asterisk's own defaults), the channel variables that carry them to the dialplan (``oc-amd``), and
what a detection result means for the call.

``AMD()`` (apps/app_amd.c) sets ``AMDSTATUS`` to ``MACHINE``, ``HUMAN``, ``NOTSURE`` or ``HANGUP``
and ``AMDCAUSE`` to why (``LONGGREETING-…``, ``INITIALSILENCE-…``, ``TOOLONG-…``, ``MAXWORDS-…``).
Only ``MACHINE`` is a machine: ``NOTSURE`` goes to an agent (a person wrongly hung up on is worse
than an agent hearing a greeting), and ``HANGUP`` is a person who hung up during the analysis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from .outcomes import CampaignType
from .rules import check_sound_name

#: The ``AMDSTATUS`` that means a machine answered.
MACHINE = "MACHINE"
#: Every ``AMDSTATUS`` ``AMD()`` sets (apps/app_amd.c).
AMD_STATUSES = frozenset({MACHINE, "HUMAN", "NOTSURE", "HANGUP"})


class MachineAction(str, Enum):
    """What the dialplan does with a machine: hang up, or wait for the beep and leave the
    campaign's message (voicemail drop)."""

    HANGUP = "hangup"
    MESSAGE = "message"


@dataclass(frozen=True)
class Bound:
    """A detection setting in milliseconds: its least, greatest and default value (Asterisk's
    own default, from configs/samples/amd.conf.sample)."""

    least: int
    greatest: int
    default: int


#: The settings a manager sets, in ms. Bounds: below them AMD() calls most people machines (a
#: greeting shorter than half a second) or cuts a person off; above them the customer waits for
#: an agent past any regulator's 2 s (the analysis runs before the hold message).
BOUNDS: Mapping[str, Bound] = {
    "initial_silence": Bound(1000, 5000, 2500),
    "greeting": Bound(500, 5000, 1500),
    "total_analysis": Bound(1000, 8000, 5000),
}


@dataclass(frozen=True)
class AmdSettings:
    """A campaign's detection: ``enabled`` (client first), ``agent_first`` (also in agent-first
    calls, off by default: the agent already hears the greeting), the analysis times in ms, what
    to do with a machine and the message to leave (a sound name on the Asterisk server)."""

    enabled: bool = False
    agent_first: bool = False
    initial_silence: int = BOUNDS["initial_silence"].default
    greeting: int = BOUNDS["greeting"].default
    total_analysis: int = BOUNDS["total_analysis"].default
    on_machine: MachineAction = MachineAction.HANGUP
    message: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "on_machine", MachineAction(self.on_machine))
        for name, bound in BOUNDS.items():
            value = getattr(self, name)
            if not bound.least <= value <= bound.greatest:
                raise ValueError(f"AMD {name} {value} ms: must be {bound.least} to {bound.greatest} ms")
        if self.greeting >= self.total_analysis:
            raise ValueError("AMD greeting must be shorter than the total analysis time")

    def check_dialable(self) -> None:
        """The message left on machines must be a sound name (``rules.check_sound_name``), and
        there must be one when detection leaves it."""
        if self.message or (self.enabled and self.on_machine is MachineAction.MESSAGE):
            check_sound_name("machine message", self.message)

    def runs(self, campaign_type: CampaignType | str) -> bool:
        """Whether a call of this type runs ``AMD()`` on its customer."""
        if CampaignType(campaign_type) is CampaignType.CLIENT_FIRST:
            return self.enabled
        return self.enabled and self.agent_first

    def variables(self, campaign_type: CampaignType | str) -> dict[str, str]:
        """The Originate's channel variables for ``oc-amd`` and ``oc-leave-message``. The message
        goes in every call of a campaign that has one: the agent's **Leave message** plays it
        too. Nothing at all when detection is off and there is no message."""
        variables: dict[str, str] = {}
        if self.runs(campaign_type):
            variables |= {
                "OC_AMD": "1",
                "OC_AMD_INITIAL_SILENCE": str(self.initial_silence),
                "OC_AMD_GREETING": str(self.greeting),
                "OC_AMD_TOTAL": str(self.total_analysis),
                "OC_MACHINE_ACTION": self.on_machine.value,
            }
        if self.on_machine is MachineAction.MESSAGE and self.message:
            variables["OC_MACHINE_MSG"] = check_sound_name("machine message", self.message)
        return variables


def is_machine(amd_status: str | None) -> bool:
    """Whether ``AMDSTATUS`` says a machine answered (``NOTSURE`` is a person)."""
    return (amd_status or "").strip().upper() == MACHINE

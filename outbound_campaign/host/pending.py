"""What the runner has learnt from Asterisk and not yet stored: the next turn's writes.

A turn takes them whole (:meth:`PendingWrites.take`) and stores them in its one transaction; if
that transaction fails, they are put back whole (:meth:`PendingWrites.restore`), before whatever
arrived meanwhile, and the next turn stores them.
"""

from dataclasses import dataclass, field

from ..dialer.agent_state import AgentNext
from ..dialer.events import CallResult
from ..dialer.outcomes import CampaignType
from ..dialer.retries import RetryDecision
from ..dialer.views import CallView


@dataclass(frozen=True)
class FinishedCall:
    """An ended call as the store writes it: its result, its contact's next step and its agent's.
    ``decision`` is None when the call's contact or campaign is gone (only its agent is freed);
    ``agent_missed``: the agent did not take the call (their count of misses decides)."""

    result: CallResult
    decision: RetryDecision | None = None
    agent_next: AgentNext | None = None
    agent_missed: bool = False


@dataclass
class PendingWrites:
    """The calls that moved on (by uuid, the latest state), the calls that ended, the agents who
    missed a client-first bridge leg, the agents to make ready again (their bridge leg could not be
    sent) and the phones whose state changed (by device); ``phones_freed``: a phone became free
    since the last turn (its agent may take a call), whether or not its state is stored with it."""

    progress: dict[str, CallView] = field(default_factory=dict)
    finished: list[FinishedCall] = field(default_factory=list)
    missed_agents: set[int] = field(default_factory=set)
    freed_agents: set[int] = field(default_factory=set)
    device_changes: dict[str, str] = field(default_factory=dict)
    phones_freed: bool = False

    def __bool__(self):
        return bool(
            self.progress or self.finished or self.missed_agents or self.freed_agents or self.device_changes
        )

    @property
    def calls_or_agents(self):
        """Anything for ``DialerStore.record_batch`` (the phones are stored apart)."""
        return bool(self.progress or self.finished or self.missed_agents or self.freed_agents)

    @property
    def frees_nothing(self):
        """Only agent-first calls that moved on (ringing, answered, connected): no agent, channel
        or phone freed, no customer waiting for an agent; a plan would find what the last one did."""
        return (
            bool(self.progress)
            and not (self.finished or self.missed_agents or self.freed_agents or self.phones_freed)
            and all(call.campaign_type is CampaignType.AGENT_FIRST for call in self.progress.values())
        )

    def take(self):
        """Everything pending, leaving nothing behind."""
        taken = PendingWrites(
            self.progress,
            self.finished,
            self.missed_agents,
            self.freed_agents,
            self.device_changes,
            self.phones_freed,
        )
        self.progress, self.finished, self.missed_agents, self.freed_agents = {}, [], set(), set()
        self.device_changes, self.phones_freed = {}, False
        return taken

    def restore(self, taken):
        """Put back what a failed turn took; what arrived since is newer and wins."""
        self.progress = {**taken.progress, **self.progress}
        self.finished = taken.finished + self.finished
        self.missed_agents |= taken.missed_agents
        self.freed_agents |= taken.freed_agents
        self.device_changes = {**taken.device_changes, **self.device_changes}
        self.phones_freed |= taken.phones_freed

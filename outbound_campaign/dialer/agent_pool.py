"""One pool of ready agents for every campaign of a dialer turn, each agent counted once: first
the agents that client-first calls not yet with an agent hold, then the others shared out among
the campaigns that want agents (``planning.plan`` says in which order)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from .views import AgentView, CampaignView


def hold_agents(free: Sequence[AgentView], needs: Mapping[int, int]) -> dict[int, list[AgentView]]:
    """Per campaign, ``needs[campaign_id]`` free agents who serve it, each agent held for one
    campaign at most; a campaign gets fewer only when no assignment of the agents can give it
    more (augmenting paths: a shared agent held for one campaign is moved to make room).

    Agents serving the fewest campaigns are held first, the longest idle first among them: the
    agents shared with other campaigns are left to those campaigns where possible.
    """
    candidates = sorted(free, key=lambda a: (len(a.campaign_ids), a.ready_since, a.id))
    holder: dict[int, int] = {}  # agent id -> the campaign they are held for
    for campaign_id, need in needs.items():
        for _ in range(need):
            # Breadth first from the campaign: an agent not held yet, or one held for another
            # campaign that can take another agent instead, and so on along the path.
            reached_from: dict[int, int] = {}  # agent id -> campaign that reached them
            through: dict[int, int] = {}  # campaign -> the agent of theirs it was reached by
            queue, found = deque([campaign_id]), None
            while queue and found is None:
                current = queue.popleft()
                for agent in candidates:
                    if current not in agent.campaign_ids or agent.id in reached_from:
                        continue
                    reached_from[agent.id] = current
                    owner = holder.get(agent.id)
                    if owner is None:
                        found = agent.id
                        break
                    if owner != campaign_id and owner not in through:
                        through[owner] = agent.id
                        queue.append(owner)
            if found is None:
                break  # its calls outnumber the agents left for it: it dials no more (pacing)
            while True:  # each campaign on the path takes the next agent and gives up its own
                current = reached_from[found]
                holder[found] = current
                if current == campaign_id:
                    break
                found = through[current]
    held: dict[int, list[AgentView]] = {}
    for agent in free:
        if agent.id in holder:
            held.setdefault(holder[agent.id], []).append(agent)
    return held


def allocate_agents(
    free: Sequence[AgentView],
    campaign_order: Sequence[CampaignView],
    wanting: set[int],
    held: Mapping[int, Sequence[AgentView]],
) -> dict[int, list[AgentView]]:
    """Give each free agent (longest idle first) to one of their campaigns that wants agents:
    the one with the fewest so far (those held for it included), ties to the round-robin order."""
    rank = {campaign.id: i for i, campaign in enumerate(campaign_order)}
    allocated: dict[int, list[AgentView]] = {campaign.id: [] for campaign in campaign_order}
    for agent in free:
        choices = [cid for cid in agent.campaign_ids if cid in wanting]
        if choices:
            chosen = min(choices, key=lambda cid: (len(held.get(cid, ())) + len(allocated[cid]), rank[cid]))
            allocated[chosen].append(agent)
    return allocated

"""The cron host: a bounded burst of the same engine, so that campaigns dial with no extra process.

Each server with a running campaign gets a :class:`~.runner.DialerRunner` for at most the burst;
one whose lease a dedicated ``odoo-bin outbound_dialer`` holds is left to it. Calls still in flight
when the burst ends keep their AstDB record and are reconciled by the next burst.
"""

import asyncio

from .runner import DialerRunner
from .store import DialerStore, host_identity


def dial_burst(registry, server_ids, seconds):
    holder = host_identity("cron")

    async def burst():
        runners = [DialerRunner(DialerStore(registry, server_id, holder)) for server_id in server_ids]
        await asyncio.gather(*(runner.run(run_for=seconds) for runner in runners))

    asyncio.run(burst())

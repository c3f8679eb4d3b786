"""Scale benchmarks (issue 14), each printed with a baseline measured in the same run.

* agent freed → next Originate to that agent (p50/p99) at 1 agent × 1 campaign, 100 × 10 and
  500 × 50 (each agent shared by up to 3 campaigns), with the ratio 500×50 / 1×1, against a bare
  AMI Ping round trip; then one ``odoo-bin outbound_dialer`` at the largest size under cProfile:
  where a turn's time goes;
* soak: N calls (200,000 by default, about a quarter of an hour) through one dialer runner (in
  this process, the simulator in another): resident memory after N against after N/10, the
  runner's in-memory maps at the end, contacts in progress, PostgreSQL's writes per call.

Every size runs the same realistic mix (answer rate 30 %, ring 2–20 s, talk 30 s–3 min) on a
clock sped up in proportion to the agents (time scale agents / 1000): every size brings the dialer
the same ~20 calls a second, the rate of a 500-agent site in real time, so what grows with the
size is the pool and the campaigns a turn looks at, not the event rate.

Usage: python3 benchmarks/bench_scale.py -c ODOO_CONF -d DATABASE [--soak-calls N] [--sizes 1x1,100x10]
"""

import asyncio
import bisect
import gc
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time

import psutil
from bench_dialer import AmiClient, dialer_command, ms, percentile, ping_round_trips, print_profile, processes
from odoo_database import argument_parser, freeze_heap, open_registry, settle

import odoo
from odoo.tools import SQL

from pbxsim import Scenario, run_in_thread

GOAL_P99_SMALL_MS = 20.0
GOAL_P99_LARGE_MS = 50.0
GOAL_GROWTH = 3.0
GOAL_SOAK_GROWTH = 1.10

#: Outcomes of the customers (answer rate 30 %) and simulated durations, in seconds.
MIX = {"answer": 0.3, "no_answer": 0.4, "busy": 0.2, "invalid": 0.1}
RING, TALK, AGENT_RING = (2.0, 20.0), (30.0, 180.0), (1.0, 3.0)
#: Mean simulated length of one agent-first call of this mix (dial timeout 30 s): ~49 s.
MEAN_CALL = 2.0 + 0.3 * (11.0 + 105.0) + 0.4 * 30.0 + 0.3 * 1.25
MEASURED = 30.0  # real seconds of measurement per size


class ScaleWorld(processes().Committed):
    """A dialer server, ``agents`` ready agents, ``campaigns`` running agent-first campaigns (each
    agent serving up to three of them, so that the pool is shared) and their contacts, committed;
    removed by :meth:`destroy`."""

    def __init__(self, port, agents, campaigns, contacts, prefix):
        super().__init__()
        self.prefix = prefix
        with self.env() as env:
            server = env["outbound.dialer.server"].create(
                {
                    "name": f"{prefix} PBX",
                    "host": "127.0.0.1",
                    "port": port,
                    "username": "dialer",
                    "secret": "dialer-secret",
                    "max_channels": 5000,
                    "max_calls_per_second": 1000,
                }
            )
            self.server_id = server.id
            users = env["res.users"].create(
                [
                    {"name": f"{prefix} agent {n}", "login": f"{prefix.lower()}-agent-{n}"}
                    for n in range(agents)
                ]
            )
            self.user_ids = users.ids
            agent_records = env["outbound.agent"].create(
                [
                    {"user_id": user.id, "channel": f"PJSIP/{prefix}{n}", "state": "ready"}
                    for n, user in enumerate(users)
                ]
            )
            self.channels = set(agent_records.mapped("channel"))
            records = env["outbound.campaign"]
            for index in range(campaigns):
                serving = [
                    agent.id
                    for n, agent in enumerate(agent_records)
                    if (n - index) % campaigns < min(3, campaigns)
                ]
                records |= env["outbound.campaign"].create(
                    {
                        "name": f"{prefix} campaign {index}",
                        "campaign_type": "agent_first",
                        "dialer_server_id": server.id,
                        "agent_ids": [odoo.Command.set(serving)],
                        "caller_id_number": "+442079460999",
                        "enforce_legal_hours": False,
                        "sat": True,
                        "sun": True,
                        "max_attempts": 1,
                        "wrap_up_time": 0,
                    }
                )
            self.campaign_ids = records.ids
            for index, campaign in enumerate(records):
                env.cr.execute(
                    SQL(
                        """
                        INSERT INTO outbound_contact (campaign_id, company_id, phone, phone_e164, state,
                                                      attempt_count, create_uid, write_uid, create_date,
                                                      write_date)
                        SELECT %(campaign)s, %(company)s, p, p, 'pending', 0, 1, 1, now(), now()
                          FROM (SELECT '+4420' || lpad(n::text, 8, '0') AS p
                                  FROM generate_series(%(first)s, %(first)s + %(count)s - 1) n) numbers
                        """,
                        campaign=campaign.id,
                        company=campaign.company_id.id,
                        first=1 + index * contacts,
                        count=contacts,
                    )
                )
            records.write({"state": "running"})

    def count(self, sql):
        return self.query(sql, tuple(self.campaign_ids))[0][0]

    def destroy(self):
        with self.env() as env:
            env["outbound.campaign"].browse(self.campaign_ids).unlink()
            agents = env["outbound.agent"].search([("user_id", "in", self.user_ids)])
            agents.state = "paused"  # a dialer stopped mid-call leaves agents on their calls
            agents.unlink()
            env["res.users"].browse(self.user_ids).unlink()
            env["outbound.dialer.server"].browse(self.server_id).unlink()


class AgentHangups:
    """A bare AMI listener: when each agent's phone hung up (``Hangup`` of a channel on it)."""

    def __init__(self, port, channels):
        self.port = port
        self.channels = channels
        self.hangups = {}  # device -> wall-clock times
        self._client = AmiClient("127.0.0.1", port, "dialer", "dialer-secret")

    def _on_hangup(self, event):
        device = event.get("Channel", "").rpartition("-")[0]
        if device in self.channels:
            self.hangups.setdefault(device, []).append(time.time())

    async def start(self):
        self._client.on_event("Hangup", self._on_hangup)
        await self._client.start()

    async def close(self):
        await self._client.close()


def freed_to_next(hangups, originates, since, until):
    """Per agent: from each hang-up in [since, until) to the next Originate to the same phone."""
    samples = []
    for device, ends in hangups.items():
        sent = originates.get(device, [])
        for ended in ends:
            if since <= ended < until:
                at = bisect.bisect_left(sent, ended)
                if at < len(sent):
                    samples.append(sent[at] - ended)
    return samples


def run_size(agents, campaigns, profile=None):
    """One size: the dialer's agent freed → next Originate samples (or its profile)."""
    scale = agents / 1000
    scenario = Scenario(
        seed=agents, time_scale=scale, mix=MIX, ring_time=RING, talk_time=TALK, agent_ring_time=AGENT_RING
    )
    warm_up = MEAN_CALL * scale + 2.0
    calls = int(20 * (warm_up + MEASURED) * 1.5)
    with run_in_thread(scenario) as sim:
        world = ScaleWorld(
            sim.port, agents, campaigns, max(50, calls // campaigns), f"S{agents}x{campaigns}x"
        )
        try:
            listener = AgentHangups(sim.port, world.channels)
            sim.run(listener.start())
            dialer = dialer_command(world, profile)
            try:
                processes().wait_for(lambda: sim.actions("Originate"), 60, "the first Originate")
                started = time.time()
                time.sleep(warm_up + MEASURED + 1.0)
            finally:
                processes().stop(dialer)
            sim.run(listener.close())
            originates = {}
            for action in sim.actions("Originate"):
                originates.setdefault(action.get("Channel"), []).append(action.received_at)
            for sent in originates.values():
                sent.sort()
            left = world.count(
                "SELECT count(*) FROM outbound_contact WHERE campaign_id IN %s AND state = 'pending'"
            )
            samples = freed_to_next(
                listener.hangups, originates, started + warm_up, started + warm_up + MEASURED
            )
            pings = asyncio.run(ping_round_trips(sim.port, 300))
        finally:
            world.destroy()
    if not left:
        print(f"  warning: {agents} x {campaigns} ran out of contacts; its figures are low")
    return samples, pings


def bench_turn_cost(registry, sizes):
    results = {}
    for agents, campaigns in sizes:
        # What the benchmark before this one or the size before this one deleted or rolled back
        # (the live list's 100,000 partners and 200,000 contacts) vacuumed now, not while measured.
        settle(registry)
        samples, pings = run_size(agents, campaigns)
        results[(agents, campaigns)] = (samples, pings)
    print(
        f"agent freed -> next Originate to that agent (~20 calls/s at every size, {MEASURED:.0f} s measured):"
    )
    print(
        f"  {'agents x campaigns':>18} {'samples':>8} {'p50 ms':>8} {'p99 ms':>8} {'Ping p50 ms':>12} {'p99/Ping':>9}"
    )
    for (agents, campaigns), (samples, pings) in results.items():
        if not samples:
            print(f"  {agents:>8} x {campaigns:<7} no sample (no agent freed in the window)")
            continue
        p50, p99, ping = percentile(samples, 0.5), percentile(samples, 0.99), percentile(pings, 0.5)
        goal = GOAL_P99_SMALL_MS if agents == 1 else GOAL_P99_LARGE_MS
        print(
            f"  {agents:>8} x {campaigns:<7} {len(samples):>8} {ms(p50):>8.1f} {ms(p99):>8.1f} {ms(ping):>12.2f} "
            f"{p99 / ping:>8.0f}x  goal p99 <= {goal:.0f} ms: {'met' if ms(p99) <= goal else 'NOT met'}"
        )
    first, last = sizes[0], sizes[-1]
    if first != last and results[first][0] and results[last][0]:
        growth = percentile(results[last][0], 0.99) / percentile(results[first][0], 0.99)
        print(
            f"  growth p99 {last[0]}x{last[1]} / {first[0]}x{first[1]} = {growth:.2f} "
            f"(goal <= {GOAL_GROWTH:.0f}: {'met' if growth <= GOAL_GROWTH else 'NOT met'})"
        )


def bench_profile(agents, campaigns):
    """The dialer under cProfile at one size: what its turns cost and where that time goes."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "dialer.prof")
        run_size(agents, campaigns, profile=path)
        print_profile(path, f"{agents} x {campaigns}")


def span(limits):
    return f"{limits[0]}:{limits[1]}"


def write_counters(world):
    """Rows inserted, updated and deleted per table, and the database's commits, so far."""
    counters = {}
    with world.env() as env:
        env.cr.execute("SELECT pg_stat_clear_snapshot()")
        env.cr.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")
        for table, inserted, updated, deleted in env.cr.fetchall():
            counters[(table, "inserted")] = inserted
            counters[(table, "updated")] = updated
            counters[(table, "deleted")] = deleted
        env.cr.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        counters[("", "commits")] = env.cr.fetchone()[0]
    return counters


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss():
    gc.collect()
    return psutil.Process().memory_info().rss


def bench_soak(registry, total, agents=50):
    """``total`` calls through one runner in this process (the simulator in its own, so that its
    log of every call does not count here): memory after ``total`` against after ``total / 10``."""
    from odoo.addons.outbound_campaign.host.runner import DialerRunner
    from odoo.addons.outbound_campaign.host.store import DialerStore, host_identity

    port = free_port()
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pbxsim",
            "--port",
            str(port),
            "--seed",
            "14",
            "--time-scale",
            "0.001",
            "--mix",
            ",".join(f"{k}={v}" for k, v in MIX.items()),
            "--ring-time",
            span(RING),
            "--talk-time",
            span(TALK),
            "--agent-ring-time",
            span(AGENT_RING),
        ],
        cwd=processes().MAIN,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    world = None
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        world = ScaleWorld(port, agents, 1, total, "Soak")  # one attempt each: done when all are
        ended_sql = "SELECT count(*) FROM outbound_call WHERE campaign_id IN %s AND state = 'ended'"
        runner = DialerRunner(DialerStore(registry, world.server_id, host_identity("bench")), tick=0.05)
        marks = {}

        async def watch():
            while True:
                await asyncio.sleep(0.5)
                ended = world.count(ended_sql)
                if ended >= total // 10 and "tenth" not in marks:
                    marks["tenth"] = (ended, rss(), time.monotonic())
                if ended >= total:
                    marks["all"] = (ended, rss(), time.monotonic())
                    runner.stop()
                    return

        async def main():
            task = asyncio.get_running_loop().create_task(runner.run())
            await watch()
            await task

        written_before = write_counters(world)
        started = time.monotonic()
        asyncio.run(main())
        time.sleep(2.0)  # PostgreSQL publishes a connection's statistics within a second of its last use
        written = {key: after - written_before.get(key, 0) for key, after in write_counters(world).items()}
        in_progress = world.count(
            "SELECT count(*) FROM outbound_contact WHERE campaign_id IN %s AND state = 'in_progress'"
        )
        open_calls = world.count(
            "SELECT count(*) FROM outbound_call WHERE campaign_id IN %s AND state != 'ended'"
        )
    finally:
        simulator.terminate()
        simulator.wait(10)
        if world is not None:
            world.destroy()
    (tenth, tenth_rss, _), (ended, end_rss, finished) = marks["tenth"], marks["all"]
    growth = end_rss / tenth_rss
    print(
        f"soak: {ended:,} calls through one runner in {finished - started:.0f} s ({agents} agents, accelerated x1000)"
    )
    print(
        f"  resident memory after {ended:,} calls {end_rss / 2**20:.1f} MiB, after {tenth:,} calls "
        f"{tenth_rss / 2**20:.1f} MiB: ratio {growth:.3f} (goal <= {GOAL_SOAK_GROWTH:.2f}: "
        f"{'met' if growth <= GOAL_SOAK_GROWTH else 'NOT met'})"
    )
    print(
        "  runner's maps after its last turn: "
        f"calls {len(runner.calls)}, contacts {len(runner.contacts)}, pending writes {bool(runner._pending)}, "
        f"unfinished {len(runner._unfinished)}, unsettled {len(runner._unsettled)}, tasks {len(runner._tasks)}, "
        f"wrap-ups {len(runner._wrap_ups_end)}; per campaign: statuses {len(runner._statuses_written)}, "
        f"ended since load {len(runner._ended_since_load)}; per phone: device states {len(runner.device_states)}, "
        f"not yet stored {len(runner._phones_to_store)}"
    )
    print(
        f"  contacts left in progress: {in_progress}; calls not ended: {open_calls} (the last turn stores them)"
    )
    commits = written.pop(("", "commits"))
    rows = {key: count for key, count in written.items() if count}
    print(
        f"  PostgreSQL writes per call (pg_stat, this database, whole run): {commits / ended:.2f} commits, "
        f"{sum(rows.values()) / ended:.2f} rows written:"
    )
    for (table, kind), count in sorted(rows.items(), key=lambda item: -item[1])[:12]:
        print(f"    {table:<32} {kind:<8} {count / ended:6.2f} a call")


def parse_sizes(text):
    return [tuple(int(n) for n in size.split("x")) for size in text.split(",")]


def main():
    parser = argument_parser(__doc__)
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1x1,100x10,500x50"))
    parser.add_argument("--soak-calls", type=int, default=200_000)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    registry = open_registry(args, "--log-level=warn")
    freeze_heap()
    # The simulator's and the AMI links' chatter (each size opens and closes its own) is not a figure.
    for name, level in (
        ("pbxsim", logging.WARNING),
        ("panoramisk", logging.WARNING),
        ("odoo.addons.outbound_campaign.dialer.ami", logging.ERROR),
    ):
        logging.getLogger(name).setLevel(level)
    print("== scale")
    bench_turn_cost(registry, args.sizes)
    if args.soak_calls:
        bench_soak(registry, args.soak_calls)
    if not args.no_profile:
        bench_profile(*args.sizes[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())

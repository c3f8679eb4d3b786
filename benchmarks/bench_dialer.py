"""Dialer benchmarks, each printed as a ratio to a baseline measured in the same run.

* agent freed → next Originate latency (p50/p99), against a bare AMI Ping round trip;
* sustained originates per second of one ``odoo-bin outbound_dialer`` process, with its CPU use,
  against a bare AMI client originating as fast as it can into the same simulator;
* next-due-contact selection at 10k and 1M contacts (p50/p99), against ``SELECT 1``.

Usage: python3 benchmarks/bench_dialer.py -c ODOO_CONF -d DATABASE [--only throughput] [--profile] (a throwaway
database with outbound_campaign installed: ``make bench`` prepares one).
"""

import asyncio
import importlib.util
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil
from odoo_database import argument_parser, freeze_heap, open_registry, settle, vacuum

import odoo
from odoo.tools import SQL

from pbxsim import Scenario, run_in_thread

GOAL_LATENCY_P99_MS = 50.0
GOAL_ORIGINATES_PER_S = 200.0
#: Issue 14: one dialer process against a bare AMI client into the same simulator, within one core.
GOAL_THROUGHPUT_RATIO = 0.5
GOAL_THROUGHPUT_CPU = 1.0
GOAL_SELECTION_P99_MS = 5.0


def AmiClient(*args, **kwargs):
    from odoo.addons.outbound_campaign.dialer.ami import AmiClient as client_class

    return client_class(*args, **kwargs)


def processes():
    """The tests' helpers for dedicated dialer processes, loaded from their file: importing the
    tests package would load Odoo's test framework, which complains outside a test run."""
    if "dialer_processes" not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "outbound_campaign" / "tests" / "dialer_processes.py"
        spec = importlib.util.spec_from_file_location("dialer_processes", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["dialer_processes"] = module
    return sys.modules["dialer_processes"]


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(seconds):
    return seconds * 1000.0


def dialer_command(world, profile=None):
    """``odoo-bin outbound_dialer`` for ``world``'s server, under cProfile (every thread) when
    ``profile`` names the file it writes at exit."""
    config = odoo.tools.config
    profiled = [str(Path(__file__).with_name("profiled_odoo.py")), profile] if profile else ["-m", "odoo"]
    command = [sys.executable, *profiled]
    command += [
        f"--addons-path={config['addons_path']}",
        "outbound_dialer",
        f"--database={config['db_name']}",
        f"--server={world.server_id}",
        "--log-level=warn",
    ]
    for option in ("db_host", "db_port", "db_user", "db_password"):
        if config[option]:
            command.append(f"--{option}={config[option]}")
    return subprocess.Popen(command, cwd=processes().MAIN, stdout=subprocess.DEVNULL)


def print_profile(path, label, top=25):
    """What the dialer's turns cost and where that time goes, from its cProfile file ``path``."""
    stats = pstats.Stats(path)
    # The turn's transaction, on the turns' thread; the loop's own share of a turn is in the list.
    turns = [
        (key, value)
        for key, value in stats.stats.items()
        if key[2] == "_store_and_plan" and key[0].endswith("runner.py")
    ]
    executes = [
        value
        for key, value in stats.stats.items()
        if key[2] == "<method 'execute' of 'psycopg2.extensions.cursor' objects>"
    ]
    if turns:
        (_key, (_calls, count, _own, cumulative, _callers)) = turns[0]
        print(
            f"profile at {label}: {count} turns, their transaction {ms(cumulative / count):.2f} ms each on average "
            "(on the turns' thread)"
        )
        if executes:
            statements, sql_time = executes[0][1], executes[0][3]
            print(
                f"  SQL: {statements / count:.1f} statements a turn, {ms(sql_time / count):.2f} ms a turn waiting for "
                f"PostgreSQL ({100 * sql_time / cumulative:.0f}% of the turn; every statement of the process counted)"
            )
    print(f"  the dialer's own functions with the most cumulative time (top {top}):")
    stats.sort_stats("cumulative").print_stats("outbound_campaign", top)


class CallEnds:
    """A bare AMI listener recording when each call ended (``OcCallEnd``), on the wall clock."""

    def __init__(self, port):
        self.port = port
        self.ends = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._client = AmiClient("127.0.0.1", port, "dialer", "dialer-secret")

    def __enter__(self):
        self._thread.start()
        self._client.on_event("UserEvent", self._on_user_event)
        asyncio.run_coroutine_threadsafe(self._client.start(), self._loop).result(10)
        return self

    def _on_user_event(self, event):
        if event.get("UserEvent") == "OcCallEnd":
            self.ends.append(time.time())

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self._client.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


async def ping_round_trips(port, count):
    client = AmiClient("127.0.0.1", port, "dialer", "dialer-secret")
    await client.start()
    try:
        return [await client.ping() for _ in range(count)]
    finally:
        await client.close()


def bench_latency():
    """One agent: every Originate after the first follows the end of the agent's previous call."""
    scenario = Scenario(
        seed=1, time_scale=0.001, ring_time=(0.0, 0.0), agent_ring_time=(0.0, 0.0), talk_time=(20.0, 40.0)
    )
    with run_in_thread(scenario) as sim:
        pings = asyncio.run(ping_round_trips(sim.port, 300))
        world = processes().CommittedWorld(sim.port, contacts=400, agents=1, prefix="Latency")
        try:
            with CallEnds(sim.port) as listener:
                dialer = processes().start_dialer(world)
                try:
                    processes().wait_for(lambda: len(sim.actions("Originate")) >= 301, 120, "300 calls")
                finally:
                    processes().stop(dialer)
                originates = sorted(o.received_at for o in sim.actions("Originate"))
                samples = []
                for ended in listener.ends:
                    following = next((at for at in originates if at >= ended), None)
                    if following is not None:
                        samples.append(following - ended)
        finally:
            world.destroy()
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    ping50, ping99 = percentile(pings, 0.5), percentile(pings, 0.99)
    print(
        f"agent freed -> next Originate ({len(samples)} calls): p50 {ms(p50):.1f} ms, p99 {ms(p99):.1f} ms "
        f"(goal p99 <= {GOAL_LATENCY_P99_MS:.0f} ms: {'met' if ms(p99) <= GOAL_LATENCY_P99_MS else 'NOT met'})"
    )
    print(
        f"  baseline AMI Ping round trip: p50 {ms(ping50):.2f} ms, p99 {ms(ping99):.2f} ms; "
        f"ratio p50 {p50 / ping50:.1f}x, p99 {p99 / ping99:.1f}x"
    )


#: The tables a dialer's turn reads and writes, analysed once the throughput run is warm.
WORLD_TABLES = ("outbound_contact", "outbound_call", "outbound_agent")


async def raw_originates(port, seconds):
    """A bare client originating into the simulator as fast as the link allows: the ceiling."""
    client = AmiClient("127.0.0.1", port, "dialer", "dialer-secret")
    await client.start()
    sent = 0
    deadline = time.monotonic() + seconds
    pending = set()
    try:
        while time.monotonic() < deadline:
            pending.add(
                asyncio.ensure_future(
                    client.send_action(
                        {
                            "Action": "Originate",
                            "Channel": f"PJSIP/bench{sent}",
                            "Application": "Wait",
                            "Data": "0",
                            "Async": "true",
                        }
                    )
                )
            )
            sent += 1
            if len(pending) >= 200:
                _done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        await client.close()
    return sent / seconds


def bench_throughput(registry, seconds=10.0, profile=None):
    """Originates a second of one dialer process against a bare client's; under cProfile when
    ``profile`` names the file it writes at exit (the rate is then lower: the profiler's cost)."""
    scenario = Scenario(
        seed=2, time_scale=0.0005, ring_time=(0.0, 2.0), agent_ring_time=(0.0, 1.0), talk_time=(0.0, 4.0)
    )
    with run_in_thread(scenario) as sim:
        # The bare client before and after the dialer, the mean of both: one 3 s burst before it
        # alone swung from 1,300 to 2,400 a second between runs.
        ceilings = [asyncio.run(raw_originates(sim.port, 3.0))]
        before = len(sim.actions("Originate"))
        # The server's limit far above what one process can place: the figure is the process's.
        # At 1,000 a second the dialer measured 1,099 a second in every run, the limit and the
        # second's worth of calls it saves up during the ANALYZE below.
        world = processes().CommittedWorld(
            sim.port, contacts=20_000, agents=150, prefix="Rate", max_calls_per_second=100_000
        )
        try:
            dialer = dialer_command(world, profile) if profile else processes().start_dialer(world)
            try:
                processes().wait_for(
                    lambda: len(sim.actions("Originate")) - before >= 500, 120, "the dialer to warm up"
                )
                # What autovacuum does in a site's first minute: the dialer's tables analysed with
                # calls in them. Otherwise the plan PostgreSQL caches for the check of each agent's
                # current call (outbound_agent.current_call_id) stays the one made while
                # outbound_call was empty, a sequential scan: 15 of a 21 ms claim by the end of the
                # run, in one run out of two (ratios 0.36-0.46 against 0.51-0.57).
                vacuum(registry, "ANALYZE", *WORLD_TABLES)
                process = psutil.Process(dialer.pid)
                cpu_before, started = process.cpu_times(), time.monotonic()
                count_before = len(sim.actions("Originate"))
                time.sleep(seconds)
                cpu_after, elapsed = process.cpu_times(), time.monotonic() - started
                count = len(sim.actions("Originate")) - count_before
            finally:
                processes().stop(dialer)
        finally:
            world.destroy()
        ceilings.append(asyncio.run(raw_originates(sim.port, 3.0)))
    ceiling = sum(ceilings) / len(ceilings)
    rate = count / elapsed
    cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / elapsed
    print(
        f"sustained originates from one dialer process: {rate:.0f}/s over {elapsed:.0f} s, "
        f"CPU {100 * cpu:.0f}% of a core (goal >= {GOAL_ORIGINATES_PER_S:.0f}/s: "
        f"{'met' if rate >= GOAL_ORIGINATES_PER_S else 'NOT met'})"
    )
    ratio = rate / ceiling
    print(
        f"  baseline bare AMI client into the same simulator: {ceiling:.0f}/s "
        f"(mean of {ceilings[0]:.0f}/s before the dialer and {ceilings[1]:.0f}/s after); ratio {ratio:.2f} "
        f"(goal >= {GOAL_THROUGHPUT_RATIO} at CPU <= {GOAL_THROUGHPUT_CPU:.0f} core: "
        f"{'met' if ratio >= GOAL_THROUGHPUT_RATIO and cpu <= GOAL_THROUGHPUT_CPU else 'NOT met'})"
    )


def bench_selection(registry, sizes=(10_000, 1_000_000), runs=1000):
    results = {}
    for size in sizes:
        world = processes().CommittedWorld(5038, contacts=size, agents=1, prefix=f"Select{size}")
        try:
            with world.env() as env:
                env.cr.execute("ANALYZE outbound_contact")
            from odoo.addons.outbound_campaign.host.store import DialerStore

            store = DialerStore(registry, world.server_id, "bench")
            now = datetime.now(timezone.utc)
            samples, baseline = [], []
            with registry.cursor() as cr:
                for _ in range(runs):
                    started = time.perf_counter()
                    cr.execute(SQL("SELECT 1"))
                    cr.fetchall()
                    baseline.append(time.perf_counter() - started)
            for _ in range(runs):
                started = time.perf_counter()
                with store.env() as env:
                    due = store.due_contacts(env, {world.campaign_id: 10}, now)
                samples.append(time.perf_counter() - started)
            assert len(due[world.campaign_id]) == 10
        finally:
            world.destroy()
        results[size] = (percentile(samples, 0.5), percentile(samples, 0.99), percentile(baseline, 0.5))
    for size, (p50, p99, base) in results.items():
        print(
            f"next-due-contact selection at {size:>9,} contacts: p50 {ms(p50):.2f} ms, p99 {ms(p99):.2f} ms "
            f"(goal p99 <= {GOAL_SELECTION_P99_MS:.0f} ms: {'met' if ms(p99) <= GOAL_SELECTION_P99_MS else 'NOT met'}); "
            f"ratio to a SELECT 1 round trip on the same connection: {p50 / base:.1f}x"
        )
    small, large = results[sizes[0]], results[sizes[-1]]
    print(f"  flatness: p99 at {sizes[-1]:,} / p99 at {sizes[0]:,} = {large[1] / small[1]:.2f}")


def main():
    parser = argument_parser(__doc__)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run the throughput under cProfile and say where its time goes",
    )
    parser.add_argument(
        "--only",
        choices=("latency", "throughput", "selection"),
        action="append",
        help="run only these benchmarks (repeatable); all by default",
    )
    args = parser.parse_args()
    registry = open_registry(args, "--log-level=warn")
    freeze_heap()
    # The dashboard benchmark before this one deletes its 4,000,000 contacts at the end.
    settle(registry)
    only = set(args.only or ("latency", "throughput", "selection"))
    print("== dialer")
    if "latency" in only:
        bench_latency()
    if "throughput" in only:
        bench_throughput(registry)
        if args.profile:
            with tempfile.TemporaryDirectory() as directory:
                path = os.path.join(directory, "dialer.prof")
                bench_throughput(registry, profile=path)
                print_profile(path, "the throughput run")
    if "selection" in only:
        bench_selection(registry)
    return 0


if __name__ == "__main__":
    sys.exit(main())

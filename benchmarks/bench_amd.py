"""Answering-machine detection benchmarks (issue 11), through the PBX simulator, each printed as a
ratio to a baseline measured in the same run:

* answered-call throughput (client-first calls answered and ended per second), detection on
  against detection off, the Originates built by the engine (``dialer/orders.py``): a burst of
  a fraction of a second each, so ``TURNS`` of each, alternated, and the best of each;
* machine detected → its leg hung up (``OcMachine`` → the ``Hangup`` of the call's channel, p50/p99),
  against a bare AMI Ping round trip.

Usage: python3 benchmarks/bench_amd.py -c ODOO_CONF -d DATABASE (the database is not written).
"""

import asyncio
import time
import uuid as uuids
from datetime import datetime, timezone

from odoo_database import argument_parser, open_registry

from pbxsim import Scenario, run_in_thread

CALLS = 200
#: Bursts of each kind: one lasts a quarter of a second, which a scheduling hiccup can double.
TURNS = 5
MACHINES = 300
GOAL_THROUGHPUT_RATIO = 0.8
GOAL_HANGUP_P99_MS = 50.0


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def engine():
    from odoo.addons.outbound_campaign.dialer import amd, ami, orders, outcomes, schedule, views

    return amd, ami, orders, outcomes, schedule, views


def client_first_headers(settings, number):
    _amd, _ami, orders, outcomes, schedule, views = engine()
    server = views.DialerServerView(id=1, customer_dial_template="PJSIP/{number}@trunk", max_channels=1000)
    campaign = views.CampaignView(
        id=1,
        type=outcomes.CampaignType.CLIENT_FIRST,
        server_id=1,
        window=schedule.CallingWindow(tz="UTC"),
        caller_id_number="+442079460999",
        hold_message="hold",
        abandon_message="sorry",
        max_wait=1,
        amd=settings,
    )
    contact = views.ContactView(id=1, campaign_id=1, e164=number)
    order = orders.originate_order(
        datetime.now(timezone.utc), server, campaign, contact, None, str(uuids.uuid4())
    )
    return order.call.uuid, order.to_ami_headers()


async def calls_per_second(port, settings, count):
    """``count`` client-first calls at once, until the last ``OcCallEnd``: calls per second."""
    _amd, ami, *_ = engine()
    client = ami.AmiClient("127.0.0.1", port, "dialer", "dialer-secret")
    ended, done = set(), asyncio.Event()

    def on_user_event(event):
        if event.get("UserEvent") == "OcCallEnd":
            ended.add(event.get("Uuid"))
            if len(ended) >= count:
                done.set()

    client.on_event("UserEvent", on_user_event)
    await client.start()
    try:
        start = time.perf_counter()
        orders = [client_first_headers(settings, f"+4420794{n:05d}") for n in range(count)]
        await asyncio.gather(*(client.originate(headers) for _uuid, headers in orders))
        await asyncio.wait_for(done.wait(), 120)
        return count / (time.perf_counter() - start)
    finally:
        await client.close()


async def machine_hangups(port, count):
    """``OcMachine`` → ``Hangup`` of the call's first channel, in seconds, for ``count`` machines."""
    amd, ami, *_ = engine()
    client = ami.AmiClient("127.0.0.1", port, "dialer", "dialer-secret")
    detected, delays, done = {}, [], asyncio.Event()

    def on_event(event):
        name, uuid = event.get("Event"), event.get("Uuid") or event.get("Uniqueid")
        if name == "UserEvent" and event.get("UserEvent") == "OcMachine":
            detected[uuid] = time.perf_counter()
        elif name == "Hangup" and uuid in detected:
            delays.append(time.perf_counter() - detected.pop(uuid))
            if len(delays) >= count:
                done.set()

    client.on_event("*", on_event)
    await client.start()
    try:
        settings = amd.AmdSettings(enabled=True)
        for n in range(count):
            _uuid, headers = client_first_headers(settings, f"+4420795{n:05d}")
            await client.originate(headers)
        await asyncio.wait_for(done.wait(), 120)
        pings = [await client.ping() for _ in range(100)]
        return delays, pings
    finally:
        await client.close()


def main():
    args = argument_parser(__doc__).parse_args()
    open_registry(args)  # the addon's modules on the path; the database is not used
    amd = engine()[0]
    print("== answering-machine detection")
    scenario = Scenario(seed=3, time_scale=0.01, ring_time=(0.0, 0.0), fail_time=(0.0, 0.0), amd_time=2.0)
    offs, ons = [], []
    with run_in_thread(scenario) as sim:
        for _turn in range(TURNS):
            offs.append(asyncio.run(calls_per_second(sim.port, amd.AmdSettings(), CALLS)))
            ons.append(asyncio.run(calls_per_second(sim.port, amd.AmdSettings(enabled=True), CALLS)))
    on, off = max(ons), max(offs)
    print(
        f"  answered client-first calls per second, {CALLS} at once (best of {TURNS} alternated bursts; "
        f"off {' '.join(f'{rate:.0f}' for rate in offs)}, on {' '.join(f'{rate:.0f}' for rate in ons)}): "
        f"detection on {on:.0f}/s, off {off:.0f}/s; "
        f"ratio {on / off:.2f} (goal >= {GOAL_THROUGHPUT_RATIO}; the simulated analysis lasts 20 ms)"
    )
    machines = Scenario(seed=4, time_scale=0.001, ring_time=(0.0, 0.0), mix={"machine": 1.0})
    with run_in_thread(machines) as sim:
        delays, pings = asyncio.run(machine_hangups(sim.port, MACHINES))
    p50, p99 = percentile(delays, 0.5) * 1000, percentile(delays, 0.99) * 1000
    ping = percentile(pings, 0.5) * 1000
    print(
        f"  machine detected -> leg hung up: p50 {p50:.2f} ms, p99 {p99:.2f} ms (goal p99 <= {GOAL_HANGUP_P99_MS} ms); "
        f"baseline AMI Ping p50 {ping:.2f} ms; ratio p99/ping {p99 / ping:.1f}"
    )


if __name__ == "__main__":
    main()

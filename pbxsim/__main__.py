"""``python3 -m pbxsim``: run the AMI simulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from .faults import Faults
from .permissions import DEFAULT_USER, DEFAULT_USERNAME, AmiUser
from .scenario import CUSTOMER_OUTCOMES, Scenario, parse_mix, parse_span
from .simulator import PbxSimulator


def _user(spec: str) -> tuple[str, AmiUser]:
    parts = spec.split(":")
    if len(parts) < 2 or not parts[0]:
        raise argparse.ArgumentTypeError(f"expected NAME:SECRET[:READ[:WRITE]], got {spec!r}")
    name, secret, *classes = parts
    try:
        return name, AmiUser.from_spec(
            secret, *(c.replace("+", ",") for c in classes)
        ) if classes else AmiUser(secret)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _override(spec: str) -> tuple[str, str]:
    number, sep, outcome = spec.partition("=")
    if not sep or outcome not in CUSTOMER_OUTCOMES:
        raise argparse.ArgumentTypeError(f"expected NUMBER=OUTCOME with OUTCOME in {CUSTOMER_OUTCOMES}")
    return number, outcome


def _checked(parse):
    def wrapper(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    wrapper.__name__ = parse.__name__
    return wrapper


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m pbxsim",
        description="AMI server that answers like Asterisk 22 and emulates the outbound_campaign dialplan.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=5038, help="TCP port (default: %(default)s)")
    parser.add_argument(
        "--user",
        action="append",
        type=_user,
        metavar="NAME:SECRET[:READ[:WRITE]]",
        help="an AMI user; READ/WRITE are permission classes joined by '+', e.g. "
        "dialer:s3cret:call+user+reporting:originate+call+reporting; without them the "
        "user has every permission; repeatable. Default: dialer:dialer-secret with "
        f"read={'+'.join(sorted(DEFAULT_USER.read))} write={'+'.join(sorted(DEFAULT_USER.write))}",
    )
    parser.add_argument(
        "--mix",
        type=_checked(parse_mix),
        default={"answer": 1.0},
        help="customer outcome weights, e.g. answer=0.3,busy=0.2,no_answer=0.3,invalid=0.1,congestion=0.1",
    )
    parser.add_argument(
        "--override",
        action="append",
        type=_override,
        default=[],
        metavar="NUMBER=OUTCOME",
        help="fixed outcome",
    )
    parser.add_argument("--seed", type=int, help="seed of the random draws (reproducible runs)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="real seconds per simulated second")
    parser.add_argument("--ring-time", type=_checked(parse_span), default=(2.0, 6.0), metavar="MIN:MAX")
    parser.add_argument("--talk-time", type=_checked(parse_span), default=(5.0, 30.0), metavar="MIN:MAX")
    parser.add_argument("--agent-ring-time", type=_checked(parse_span), default=(1.0, 3.0), metavar="MIN:MAX")
    parser.add_argument(
        "--agent-no-answer", type=float, default=0.0, help="probability an agent does not answer"
    )
    parser.add_argument(
        "--drop-every", type=int, default=0, metavar="N", help="drop the connection every N actions"
    )
    parser.add_argument(
        "--log-actions", metavar="FILE", help="append every action received to FILE (JSON lines)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    scenario = Scenario(
        seed=args.seed,
        mix=args.mix,
        overrides=dict(args.override),
        ring_time=args.ring_time,
        talk_time=args.talk_time,
        agent_ring_time=args.agent_ring_time,
        agent_no_answer=args.agent_no_answer,
        time_scale=args.time_scale,
    )
    users = dict(args.user) if args.user else {DEFAULT_USERNAME: DEFAULT_USER}
    simulator = PbxSimulator(
        scenario, users, faults=Faults(drop_every=args.drop_every), log_actions=args.log_actions
    )
    await simulator.start(args.host, args.port)
    try:
        await asyncio.Event().wait()
    finally:
        await simulator.stop()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()

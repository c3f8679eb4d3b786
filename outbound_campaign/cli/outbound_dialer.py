"""``odoo-bin outbound_dialer -c CONF -d DB``: the dedicated dialer host.

One asyncio loop per process owns the AMI links of the dialer servers it is given (all active
servers by default); each server is dialled by at most one host at a time, through its lease. A
process that finds a server held by another host waits as a standby and takes over when that
host's lease lapses (or at once when that host was a process of this machine, in this PID
namespace, that died). A host that finds its lease lost writes nothing more and stands by again.
"""

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys

import odoo
from odoo.cli import Command

from ..host.runner import DialerRunner
from ..host.store import DialerStore, host_identity

_logger = logging.getLogger(__name__)

DESCRIPTION = """Run the outbound campaign dialer for one database: place the calls of running
campaigns through Asterisk AMI as agents become available. Stops cleanly on SIGTERM or SIGINT:
calls in flight keep their outcome in AstDB and are reconciled by the next host."""

#: How long a thread may hold the GIL while another waits for it (Python's default: 5 ms). The
#: turns' thread waits on PostgreSQL a score of times a turn and must get the GIL back as soon as
#: each answer arrives; at the default, the event loop's thread, busy with a burst of AMI events,
#: kept it for most of that slice each time, and a busy turn lasted twice as long as its statements.
GIL_SWITCH_INTERVAL = 0.001

EPILOG = """Odoo options (-c/--config, -d/--database, --db_host, --db_user, --addons-path, --log-level, ...)
are accepted as for odoo-bin. The dialer servers, their AMI credentials and limits are configured
in Odoo (Outbound Campaigns > Configuration > Dialer servers). Example:
  odoo-bin outbound_dialer -c /etc/odoo/odoo.conf -d production"""


def parse_args(args):
    parser = argparse.ArgumentParser(
        prog="odoo-bin outbound_dialer",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--server",
        dest="server_ids",
        type=int,
        action="append",
        metavar="ID",
        help="dial for this dialer server only (repeatable; default: every active server)",
    )
    parser.add_argument(
        "--lease-ttl",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long a server stays held if this process stops renewing (default: %(default)s)",
    )
    parser.add_argument(
        "--tick",
        type=float,
        default=0.25,
        metavar="SECONDS",
        help="longest pause between two looks at due contacts and timeouts (default: %(default)s)",
    )
    return parser.parse_known_args(args)


class OutboundDialer(Command):
    """Run the outbound campaign dialer (the dedicated AMI host)"""

    name = "outbound_dialer"

    def run(self, cmdargs):
        options, odoo_args = parse_args(cmdargs)
        odoo.tools.config.parse_config(odoo_args)
        dbname = odoo.tools.config["db_name"]
        if not dbname or "," in dbname:
            sys.exit("outbound_dialer: give exactly one database with -d DB (or db_name in the config file)")
        registry = odoo.modules.registry.Registry(dbname)
        server_ids = options.server_ids or self._active_servers(registry)
        if not server_ids:
            sys.exit(f"outbound_dialer: database {dbname} has no active dialer server")
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        # Odoo's registry is some 150,000 objects that live as long as the process. Out of the
        # collector's reach, a full collection scans only what the dialer made since, instead of
        # stopping every thread for 100 ms or more every few seconds while calls wait.
        gc.collect()
        gc.freeze()
        asyncio.run(self._serve(registry, server_ids, options))

    @staticmethod
    def _active_servers(registry):
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            return env["outbound.dialer.server"].search([]).ids

    async def _serve(self, registry, server_ids, options):
        holder = host_identity("outbound_dialer")
        stopping = asyncio.Event()
        runners = []
        loop = asyncio.get_running_loop()

        def stop():
            _logger.info("Stopping the outbound dialer")
            stopping.set()
            for runner in runners:
                runner.stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop)

        async def serve(server_id):
            while not stopping.is_set():
                runner = DialerRunner(
                    DialerStore(registry, server_id, holder), lease_ttl=options.lease_ttl, tick=options.tick
                )
                runners.append(runner)
                try:
                    held = await runner.run()
                except Exception:  # e.g. the database is down: this server waits, the others go on
                    _logger.exception("Dialer of server %s stopped; starting again", server_id)
                    held = False
                finally:
                    runners.remove(runner)
                if held and stopping.is_set():
                    return
                # Standby: another host holds the server (or the link was lost); look again soon.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stopping.wait(), options.lease_ttl / 3)

        _logger.info("Outbound dialer %s serving dialer servers %s", holder, server_ids)
        await asyncio.gather(*(serve(server_id) for server_id in server_ids))

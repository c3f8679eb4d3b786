"""Real dialer processes (``odoo-bin outbound_dialer``) against the simulator, on committed data.

These tests cannot live in a test transaction: separate processes only see committed rows. Each
test builds its world in the test database, commits it, and deletes it afterwards.
"""

import os
import signal
import subprocess
import sys
import time

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tools import SQL

MAIN = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Committed:
    """Rows of the test database that other processes see: each :meth:`env` is a transaction of
    its own, committed when it ends without an error."""

    def __init__(self):
        self.registry = Registry(odoo.tools.config["db_name"])

    def env(self):
        registry = self.registry

        class Transaction:
            def __enter__(self):
                self.cr = registry.cursor()
                return api.Environment(self.cr, SUPERUSER_ID, {})

            def __exit__(self, kind, value, traceback):
                if kind is None:
                    # Committed on purpose: the dialer processes under test only see committed rows.
                    self.cr.commit()  # pylint: disable=invalid-commit
                self.cr.close()

        return Transaction()

    def query(self, sql, *args):
        with self.env() as env:
            env.cr.execute(sql, args)
            return env.cr.fetchall()


class CommittedWorld(Committed):
    """A dialer server, agents and a running campaign, committed; removed by :meth:`destroy`."""

    def __init__(
        self, port, contacts, agents, prefix, campaign_type="agent_first", max_calls_per_second=1000
    ):
        super().__init__()
        with self.env() as env:
            self.server_id = (
                env["outbound.dialer.server"]
                .create(
                    {
                        "name": f"{prefix} PBX",
                        "host": "127.0.0.1",
                        "port": port,
                        "username": "dialer",
                        "secret": "dialer-secret",
                        "max_channels": 200,
                        "max_calls_per_second": max_calls_per_second,
                    }
                )
                .id
            )
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
            campaign = env["outbound.campaign"].create(
                {
                    "name": f"{prefix} campaign",
                    "campaign_type": campaign_type,
                    "dialer_server_id": self.server_id,
                    "agent_ids": [odoo.Command.set(agent_records.ids)],
                    "caller_id_number": "+442079460999",
                    "enforce_legal_hours": False,
                    "sat": True,
                    "sun": True,
                    "max_attempts": 1,
                    # Simulated calls take milliseconds: agents are ready again at once after each.
                    "wrap_up_time": 0,
                }
            )
            self.campaign_id = campaign.id
            # Set-based: the ORM would take minutes for ten thousand contacts.
            env.cr.execute(
                SQL(
                    """
                    INSERT INTO outbound_contact (campaign_id, company_id, phone, phone_e164, state, attempt_count,
                                                  create_uid, write_uid, create_date, write_date)
                    SELECT %(campaign)s, %(company)s, p, p, 'pending', 0, 1, 1, now(), now()
                      FROM (SELECT '+4420' || lpad(n::text, 8, '0') AS p FROM generate_series(1, %(count)s) n) numbers
                    """,
                    campaign=campaign.id,
                    company=campaign.company_id.id,
                    count=contacts,
                )
            )
            campaign.state = "running"

    def contact_states(self):
        return dict(
            self.query(
                "SELECT state, count(*) FROM outbound_contact WHERE campaign_id = %s GROUP BY state",
                self.campaign_id,
            )
        )

    def holder(self):
        """Which host holds the server's lease (``kind@machine:pid/locality.token``, store.HOLDER)."""
        return (
            self.query("SELECT holder FROM outbound_dialer_server WHERE id = %s", self.server_id)[0][0] or ""
        )

    def settled(self):
        states = self.contact_states()
        return not states.get("pending") and not states.get("in_progress")

    def destroy(self):
        with self.env() as env:
            env["outbound.campaign"].browse(self.campaign_id).unlink()
            agents = env["outbound.agent"].search([("user_id", "in", self.user_ids)])
            # A dialer stopped mid-call leaves its agent on the call, which refuses deletion (defect e):
            # the world's calls go with it, so the agents are taken off them first.
            agents.state = "paused"
            agents.unlink()
            env["res.users"].browse(self.user_ids).unlink()
            env["outbound.dialer.server"].browse(self.server_id).unlink()


def start_dialer(world, *extra, stderr=subprocess.PIPE):
    """``odoo-bin outbound_dialer`` for the world's server, as a separate process; its log goes to
    ``stderr`` (a pipe, or a file for a test that reads it on failure)."""
    config = odoo.tools.config
    command = [
        sys.executable,
        "-m",
        "odoo",
        f"--addons-path={config['addons_path']}",
        "outbound_dialer",
        f"--database={config['db_name']}",
        f"--server={world.server_id}",
        "--lease-ttl=3",
        "--tick=0.05",
        "--log-level=warn",
        # the host writes recordings into this database's filestore, where the tests read them
        f"--data-dir={config['data_dir']}",
        *extra,
    ]
    for option in ("db_host", "db_port", "db_user", "db_password"):
        if config[option]:
            command.append(f"--{option}={config[option]}")
    return subprocess.Popen(command, cwd=MAIN, stdout=subprocess.DEVNULL, stderr=stderr)


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(process, signum=signal.SIGTERM):
    if process.poll() is None:
        process.send_signal(signum)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)

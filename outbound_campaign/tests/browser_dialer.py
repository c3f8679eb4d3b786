"""The dialer host and the PBX simulator behind a browser test (``HttpCase``).

The registry is in test mode: the host's short transactions, like the browser's requests, are
savepoints of the test's transaction, serialised by the registry's test lock. The simulator runs
on its own thread, the host on an asyncio loop in another.
"""

import asyncio
import threading
from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch

from odoo.sql_db import TestCursor
from odoo.tools.misc import Callbacks

from pbxsim import run_in_thread

from ..host.runner import DialerRunner, real_clock
from ..host.store import DialerStore


@contextmanager
def bus_delivered():
    """Run the post-commit hooks that ``TestCursor`` drops, among them ``bus.bus``'s NOTIFY that
    wakes the websocket dispatcher: the browser then gets live notifications as in production."""
    commit = TestCursor.commit

    def commit_and_notify(cursor):
        cursor.flush()  # pre-commit hooks first: they may add post-commit ones
        hooks, cursor.postcommit = cursor.postcommit, Callbacks()
        try:
            commit(cursor)
        finally:
            # the hooks read ``cursor.postcommit.data``: put them back, then run them
            cursor.postcommit = hooks
        hooks.run()

    with patch.object(TestCursor, "commit", commit_and_notify):
        yield


@contextmanager
def dialer_running(case, server, scenario, clock=None):
    """The simulator answering as ``scenario`` says and a dialer host holding ``server``.

    Inside, the test's thread must not touch the database but through ``start_tour``."""
    with run_in_thread(scenario) as sim:
        server.port = sim.port
        case.env.flush_all()
        store = DialerStore(case.registry, server.id, "browser-test@localhost:0")
        runner = DialerRunner(
            store,
            clock=clock or real_clock,
            tick=0.05,
            reconcile_grace=timedelta(seconds=3),
            ami_options={"reconnect_delay": 0.05, "reconnect_max_delay": 0.5},
        )
        loop = asyncio.new_event_loop()
        outcome = {}

        def host():
            try:
                outcome["result"] = loop.run_until_complete(runner.run())
            except Exception as exc:  # reported by the test's thread below
                outcome["error"] = exc

        authenticate = case.authenticate

        def authenticate_locked(*args, **kwargs):
            # The test's thread logs the browser in on the test cursor itself, while the host's
            # thread goes through test cursors: take their lock, and leave nothing to flush.
            with case.registry.test_lock:
                session = authenticate(*args, **kwargs)
                case.env.flush_all()
                return session

        thread = threading.Thread(target=host, name="outbound-dialer-test-host", daemon=True)
        thread.start()
        try:
            with patch.object(case, "authenticate", authenticate_locked):
                yield sim
        finally:
            loop.call_soon_threadsafe(runner.stop)
            thread.join(30)
            loop.close()
            case.assertFalse(thread.is_alive(), "the dialer host stopped")
            if "error" in outcome:
                raise outcome["error"]

"""Issue 13 end to end: an agent logs in to Odoo in headless Chromium, the console's browser phone
registers to a real Asterisk over WebSocket, the agent goes Ready, the real dialer process calls
them (agent first, then client first), the browser answers by itself, the customer hears it, and
the call ends with its true outcome and talk time. A manager's browser phone listens in on a live
call; an agent's attempt is refused; the agent's tab is in the background for the second call.

Everything runs in a network namespace the test makes for its thread (Asterisk, the dialer
process, Chromium and an Odoo HTTP server of its own), so that the media stays on loopback.
"""

import array
import math
import tempfile
import threading
import unittest
import wave
from pathlib import Path

from werkzeug.serving import make_server

import odoo
from odoo.exceptions import AccessError
from odoo.tests import tagged

from realpbx import find_asterisk
from realpbx.browser_phones import BrowserPhonesAsterisk, can_isolate_network, chromium, isolated_network
from realpbx.server import free_port

from ..dialer.browser_phones import wizard_entries
from .asterisk_world import AsteriskWorld
from .cdp import Page
from .dialer_processes import start_dialer, stop, wait_for

FOUND = find_asterisk()
JSSIP = Path(__file__).resolve().parents[1] / "static/lib/jssip/jssip.js"
AGENT_FIRST, CLIENT_FIRST = "+442079460101", "+442079460102"
#: The customers: answer, record what they hear, hang up.
CUSTOMERS = """[octest-hear-customers]
exten => {agent_first},1,Answer()
 same => n,Record({folder}/agent_first.wav,0,5,qk)
 same => n,Hangup()
exten => {client_first},1,Answer()
 same => n,Record({folder}/client_first.wav,0,12,qk)
 same => n,Hangup()
"""
CONSOLE = "/odoo/action-outbound_campaign.outbound_agent_console_action"
PHONE_STATUS = "document.querySelector('.o_outbound_browser_phone')?.dataset.status"


def loudness(path, last_seconds=None):
    """RMS level of a recording (16-bit signed, 8 kHz), or of its last seconds."""
    with wave.open(str(path)) as recording:
        samples = array.array("h", recording.readframes(recording.getnframes()))
        if last_seconds:
            samples = samples[-int(last_seconds * recording.getframerate()) :]
    return math.sqrt(sum(sample * sample for sample in samples) / max(len(samples), 1))


@unittest.skipIf(FOUND.path is None, FOUND.reason)
@unittest.skipIf(bool(can_isolate_network()), can_isolate_network() or "-")
@unittest.skipIf(not JSSIP.is_file(), "JsSIP is not built: run scripts/build_assets.sh")
@tagged("post_install", "-at_install")
class TestBrowserPhoneEndToEnd(unittest.TestCase):
    def test_the_dialer_calls_a_browser_phone_and_a_manager_listens_in(self):
        with isolated_network():
            self._scenario()

    def _scenario(self):
        folder = Path(self.enterContext(tempfile.TemporaryDirectory()))
        phones = {"e2eagent": "Agent-secret_1", "e2eboss": "Boss-secret_2"}
        pbx = BrowserPhonesAsterisk(
            FOUND.path,
            wizard_entries(phones.items()),
            CUSTOMERS.format(folder=folder, agent_first=AGENT_FIRST, client_first=CLIENT_FIRST),
        )
        pbx.start()
        self.addCleanup(pbx.stop)
        world = AsteriskWorld(pbx, "E2E", "Local/{number}@octest-hear-customers/n")
        self.addCleanup(world.destroy)

        port = free_port()
        server = make_server("127.0.0.1", port, odoo.http.root, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.shutdown)
        base = f"http://127.0.0.1:{port}"

        with world.env() as env:
            env["outbound.dialer.server"].browse(world.server_id).websocket_url = pbx.websocket_url
            agent_group = env.ref("outbound_campaign.group_outbound_agent")
            manager_group = env.ref("outbound_campaign.group_outbound_manager")
            users = env["res.users"].create(
                [
                    {
                        "name": "E2E agent",
                        "login": "e2e-agent",
                        "password": "e2e-agent-pw",
                        "groups_id": [odoo.Command.link(agent_group.id)],
                    },
                    {
                        "name": "E2E manager",
                        "login": "e2e-manager",
                        "password": "e2e-manager-pw",
                        "groups_id": [odoo.Command.link(manager_group.id)],
                    },
                ]
            )
            agents = env["outbound.agent"].create(
                [
                    {
                        "user_id": user.id,
                        "phone_kind": "browser",
                        "sip_login": login,
                        "phone_server_id": world.server_id,
                    }
                    for user, login in zip(users, phones, strict=True)
                ]
            )
            # The secrets of the wizard entries Asterisk started with (the export's, as a site has them).
            for agent, secret in zip(agents, phones.values(), strict=True):
                agent.sip_secret = secret
            world.track(users.ids, agents.ids)
            agent_id, manager_id = agents.ids
            agent_user, manager_user = users.ids

        devtools = self.enterContext(chromium("about:blank"))
        agent_page = self._log_in(devtools, base, "e2e-agent", "e2e-agent-pw")
        agent_page.evaluate("document.querySelector('.o_outbound_ready').click()")
        agent_page.wait_until(f"{PHONE_STATUS} === 'registered'", "the agent's phone registers")
        wait_for(lambda: world.agents()[agent_id][0] == "ready", 20, "the agent to be ready")

        log = self.enterContext(tempfile.TemporaryFile())
        dialer = start_dialer(world, stderr=log)
        self.addCleanup(stop, dialer)

        # Agent first: the dialer rings the browser, then the customer, who hears the browser.
        first = world.add_campaign("agent_first", [AGENT_FIRST], [agent_id])
        wait_for(lambda: [c.state for c in world.calls(first)] == ["ended"], 60, "the agent-first call")
        (call,) = world.calls(first)
        self.assertEqual(
            (call.outcome, call.agent_id), ("answered", agent_id), f"{call}\n{pbx.log()[-3000:]}"
        )
        self.assertGreaterEqual(call.talk, 3, call)
        self.assertLess(call.talk, 9, call)
        self.assertGreater(loudness(folder / "agent_first.wav"), 100, "the customer heard the browser")

        # The manager's console in a browser of their own; another tab in front of the agent's.
        boss_page = self._log_in(devtools, base, "e2e-manager", "e2e-manager-pw")
        agent_page.cover()
        agent_page.wait_until(
            "document.visibilityState === 'hidden'", "the agent's tab goes to the background"
        )
        boss_page.evaluate("document.querySelector('.o_outbound_ready').click()")
        boss_page.wait_until(f"{PHONE_STATUS} === 'registered'", "the manager's phone registers")

        # Client first: the customer answers, the hidden tab's phone answers, the manager listens.
        second = world.add_campaign("client_first", [CLIENT_FIRST], [agent_id])
        wait_for(lambda: [c.state for c in world.calls(second)] == ["connected"], 60, "the client-first call")
        self.assertEqual(agent_page.evaluate("document.visibilityState"), "hidden")
        with world.env() as env:
            live = env["outbound.call"].search([("campaign_id", "=", second)])
            with self.assertRaises(AccessError):
                live.with_user(agent_user).action_listen()
            live.with_user(manager_user).action_listen()
        boss_page.wait_until(
            "!!document.querySelector('.o_outbound_phone_in_call')", "the manager's phone answers the spy", 20
        )
        spied = pbx.cli("pjsip show channelstats")
        self.assertIn("e2eboss-", spied)
        wait_for(
            lambda: [c.state for c in world.calls(second)] == ["ended"], 60, "the client-first call to end"
        )
        (call,) = world.calls(second)
        self.assertEqual((call.outcome, call.agent_id), ("answered", agent_id), call)
        self.assertGreater(call.talk, 3, call)
        self.assertGreater(loudness(folder / "client_first.wav", last_seconds=4), 100)
        with world.env() as env:
            supervision = env["outbound.call.supervision"].search([("call_id.campaign_id", "=", second)])
            self.assertEqual(
                (supervision.user_id.id, supervision.mode, supervision.state),
                (manager_user, "listen", "sent"),
            )
        self.assertNotEqual(manager_id, agent_id)

    def _log_in(self, devtools, base, login, password):
        page = Page(devtools, f"{base}/web/login")
        self.addCleanup(page.close)
        page.wait_until("!!document.querySelector('input[name=password]')", "the login page")
        page.evaluate(
            f"document.querySelector('input[name=login]').value = {login!r};"
            f"document.querySelector('input[name=password]').value = {password!r};"
            "document.querySelector('form.oe_login_form').submit(); true"
        )
        page.wait_until("location.pathname.startsWith('/odoo')", f"{login} logs in")
        # The first page of a fresh database builds the web client's asset bundles (over 30 s
        # on a busy two-core machine); leaving it before it has loaded left a blank console.
        page.wait_until("!!document.querySelector('.o_main_navbar')", f"{login}'s web client", 120)
        page.navigate(f"{base}{CONSOLE}")
        page.wait_until("!!document.querySelector('.o_outbound_ready')", f"{login}'s console", 60)
        return page

"""A browser phone against the real Asterisk: JsSIP in headless Chromium registers over WebSocket to
the shipped transports and WebRTC wizard template, answers a call to PJSIP/<login> (also from a
background tab), and the far side hears it (DTLS-SRTP); a supervisor's browser phone listens in
through the shipped [oc-supervise]. All of it inside a network namespace of the test's own."""

from __future__ import annotations

import array
import math
import re
import tempfile
import time
import wave
from pathlib import Path

import pytest
from browser_phone import JSSIP, PhonePage, open_tab_in_front, run_isolated
from conftest import FOUND

from outbound_campaign.dialer.browser_phones import wizard_entries
from realpbx.browser_phones import BrowserPhonesAsterisk, can_isolate_network, chromium

LOGIN, SECRET = "1001", "Xk2-9fQ_secret"
BOSS, BOSS_SECRET = "boss", "Pq7_boss-secret"
#: The far side: records what the browser sends for a few seconds.
HEAR = """[octest-hear]
exten => s,1,Answer()
 same => n,Record({path},0,{seconds},qk)
 same => n,Hangup()
"""
#: A supervisor listening in on the phone <exten>, as the dialer's Originate sets it up.
SPY = """[octest-spy]
exten => _X.,1,Set(OC_SPY=PJSIP/${EXTEN}-)
 same => n,Goto(oc-supervise,listen,1)
"""

pytestmark = [
    pytest.mark.skipif(FOUND.path is None, reason=FOUND.reason),
    pytest.mark.skipif(bool(can_isolate_network()), reason=can_isolate_network() or "-"),
    pytest.mark.skipif(not JSSIP.is_file(), reason="JsSIP is not built: run scripts/build_assets.sh"),
]


def loudness(path: Path) -> int:
    """The recording's RMS level (16-bit signed samples; silence is 0)."""
    with wave.open(str(path)) as recording:
        samples = array.array("h", recording.readframes(recording.getnframes()))
    return int(math.sqrt(sum(sample * sample for sample in samples) / max(len(samples), 1)))


def packets(pbx, login) -> tuple[int, int]:
    """Packets Asterisk received from and sent to ``login``'s phone (``pjsip show channelstats``)."""
    stats = pbx.cli("pjsip show channelstats")
    found = re.search(rf"\b{login}-\S+\s+\S+\s+\S+\s+(\d+)\s+\d+\s+\d+\s+\S+\s+(\d+)", stats)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def browser_phone_scenario():
    heard = Path(tempfile.mkdtemp(prefix="octest-heard-"))
    results = {}
    page = PhonePage()
    with (
        BrowserPhonesAsterisk(
            FOUND.path,
            wizard_entries([(LOGIN, SECRET), (BOSS, BOSS_SECRET)]),
            HEAR.format(path=heard / "front.wav", seconds=3)
            + HEAR.replace("hear]", "hear-back]").format(path=heard / "back.wav", seconds=6)
            + SPY,
        ) as pbx,
        chromium(f"{page.url}?ws={pbx.websocket_url}&login={LOGIN}&secret={SECRET}") as devtools,
    ):
        page.wait_for("registered")
        results["contacts"] = pbx.cli(f"pjsip show aor {LOGIN}")

        start = time.monotonic()
        pbx.cli(f"channel originate PJSIP/{LOGIN} extension s@octest-hear")
        results["answer_seconds"] = page.wait_for("confirmed")["at"] - start
        time.sleep(1.5)
        results["packets"] = packets(pbx, LOGIN)[0]
        page.wait_for("ended", timeout=15)
        results["front"] = loudness(heard / "front.wav")

        # The supervisor's phone opens in a tab in front: the agent's tab is in the background.
        open_tab_in_front(devtools, f"{page.url}?ws={pbx.websocket_url}&login={BOSS}&secret={BOSS_SECRET}")
        results["hidden"] = page.wait_for("visibility", login=LOGIN)["visibility"]
        page.wait_for("registered", login=BOSS)
        mark = len(page.reports)
        pbx.cli(f"channel originate PJSIP/{LOGIN} extension s@octest-hear-back")
        results["answered_hidden"] = page.wait_for("confirmed", after=mark, login=LOGIN)["visibility"]
        pbx.cli(f"channel originate PJSIP/{BOSS} extension {LOGIN}@octest-spy")
        page.wait_for("confirmed", after=mark, login=BOSS)
        time.sleep(1.5)
        results["boss_packets"] = packets(pbx, BOSS)[1]
        page.wait_for("ended", timeout=15, after=mark, login=LOGIN)
        results["spy_ended"] = page.wait_for("ended", timeout=10, after=mark, login=BOSS)["what"]
        results["back"] = loudness(heard / "back.wav")
        results["log"] = pbx.log()
    page.close()
    return results


def test_a_browser_phone_registers_answers_and_is_heard_also_from_a_background_tab_and_a_supervisor_listens():
    results = run_isolated(browser_phone_scenario)
    assert "ws" in results["contacts"], results["contacts"]
    assert results["answer_seconds"] < 5
    assert results["packets"] > 20, "DTLS-SRTP media reached Asterisk from the browser"
    assert results["front"] > 100, "the far side heard the browser's (fake) microphone"
    assert results["hidden"] == "hidden"
    assert results["answered_hidden"] == "hidden"
    assert results["back"] > 100
    assert results["boss_packets"] > 20, "the supervisor's browser phone was sent the call's audio"
    assert results["spy_ended"] == "ended", "listening ends with the agent's call (ChanSpy's E)"

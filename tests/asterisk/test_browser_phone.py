"""A browser phone against the real Asterisk: JsSIP in headless Chromium registers over WebSocket to
the shipped transports and WebRTC wizard template, answers a call to PJSIP/<login> (also from a
background tab), and the far side hears it (DTLS-SRTP both ways); a supervisor's phone listens in
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
from browser_phone import JSSIP, PhonePage, chromium, open_tab_in_front, run_isolated
from conftest import FOUND

from outbound_campaign.dialer.browser_phones import wizard_entries
from realpbx.browser_phones import BrowserPhonesAsterisk, can_isolate_network

LOGIN, SECRET = "1001", "Xk2-9fQ_secret"
#: The far side: records what the browser sends for 3 s.
HEAR = """[octest-hear]
exten => s,1,Answer()
 same => n,Record({path},0,3,qk)
 same => n,Hangup()
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


def packets_received(pbx) -> int:
    """Packets Asterisk received on the browser phone's channels (``pjsip show channelstats``)."""
    stats = pbx.cli("pjsip show channelstats")
    counts = [int(match[1]) for match in re.finditer(rf"\b{LOGIN}-\S+\s+\S+\s+\S+\s+(\d+)", stats)]
    return max(counts, default=0)


def browser_phone_scenario():
    heard = Path(tempfile.mkdtemp(prefix="octest-heard-"))
    results = {}
    page = PhonePage()
    with (
        BrowserPhonesAsterisk(
            FOUND.path,
            wizard_entries([(LOGIN, SECRET)]),
            HEAR.format(path=heard / "front.wav")
            + HEAR.replace("hear]", "hear-back]").format(path=heard / "back.wav"),
        ) as pbx,
        chromium(f"{page.url}?ws={pbx.websocket_url}&login={LOGIN}&secret={SECRET}") as devtools,
    ):
        page.wait_for("registered")
        results["contacts"] = pbx.cli(f"pjsip show aor {LOGIN}")

        start = time.monotonic()
        pbx.cli(f"channel originate PJSIP/{LOGIN} extension s@octest-hear")
        results["answer_seconds"] = page.wait_for("confirmed")["at"] - start
        time.sleep(1.5)
        results["packets"] = packets_received(pbx)
        page.wait_for("ended", timeout=15)
        results["front"] = loudness(heard / "front.wav")

        open_tab_in_front(devtools)
        results["hidden"] = page.wait_for("visibility", after=0)["visibility"]
        mark = len(page.reports)
        pbx.cli(f"channel originate PJSIP/{LOGIN} extension s@octest-hear-back")
        results["answered_hidden"] = page.wait_for("confirmed", after=mark)["visibility"]
        page.wait_for("ended", timeout=15, after=mark)
        results["back"] = loudness(heard / "back.wav")
        results["log"] = pbx.log()
    page.close()
    return results


def test_a_browser_phone_registers_answers_and_is_heard_also_from_a_background_tab():
    results = run_isolated(browser_phone_scenario)
    assert "ws" in results["contacts"], results["contacts"]
    assert results["answer_seconds"] < 5
    assert results["packets"] > 20, "DTLS-SRTP media reached Asterisk from the browser"
    assert results["front"] > 100, "the far side heard the browser's (fake) microphone"
    assert results["hidden"] == "hidden"
    assert results["answered_hidden"] == "hidden"
    assert results["back"] > 100

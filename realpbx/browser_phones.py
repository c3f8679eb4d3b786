"""A real Asterisk that browser phones register to: the shipped PJSIP transports and WebRTC wizard
template (``outbound_campaign/data/asterisk/``), the wizard entries Odoo exports, and ``http.conf``
on a free port of 127.0.0.1 for SIP over WebSocket (``ws://127.0.0.1:<http_port>/ws``).

Media: Asterisk offers no loopback ICE candidate, so a test gives it an address of its own on ``lo``
inside a network namespace it created (:func:`isolate_network`), and nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .finder import REPO
from .server import RealAsterisk, free_port

SHIPPED = REPO / "outbound_campaign" / "data" / "asterisk"
#: Asterisk's RTP address in the test's network namespace (on ``lo``, never routed anywhere).
MEDIA_ADDRESS = "10.99.0.1"
#: What SIP over WebSocket and DTLS-SRTP need beyond :data:`realpbx.config.MODULES`.
MODULES = (
    "res_http_websocket.so",
    "res_pjsip_transport_websocket.so",
    "res_pjsip_config_wizard.so",
    "res_pjsip_registrar.so",
    "res_pjsip_authenticator_digest.so",
    "res_pjsip_endpoint_identifier_user.so",
    "res_pjsip_nat.so",
    "res_srtp.so",
    "app_record.so",
    "func_talkdetect.so",
    "res_clioriginate.so",  # `channel originate` (the test calls the phone)
)
CLONE_NEWNET = 0x40000000
#: Fake microphone and camera (Chromium's beeps), no permission prompt, loopback ICE candidates.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--no-first-run",
    "--disable-gpu",
)


def isolate_network() -> None:
    """Move this process into a network namespace of its own with ``lo`` up and
    :data:`MEDIA_ADDRESS` on it (needs root or user namespaces, as ``unshare -n``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{MEDIA_ADDRESS}/32", "dev", "lo"], check=True)


def can_isolate_network() -> str:
    """Empty if :func:`isolate_network` can work here, else why not."""
    if os.geteuid() != 0:
        return "browser-phone tests need root for a network namespace of their own (unshare -n)"
    if subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False).returncode:
        return "this machine refuses network namespaces (unshare -n)"
    return ""


class BrowserPhonesAsterisk(RealAsterisk):
    """:class:`RealAsterisk` plus browser phones: ``phones`` is the text of their wizard entries, as the
    dialer server exports it (``dialer/browser_phones.py`` ``wizard_entries``);
    ``extra_dialplan`` is appended to ``extensions.conf`` (a test's own contexts)."""

    def __init__(self, executable: str, phones: str, extra_dialplan: str = "", **behaviours) -> None:
        super().__init__(executable, **behaviours)
        self.phones = phones
        self.extra_dialplan = extra_dialplan
        self.http_port = 0

    @property
    def websocket_url(self) -> str:
        return f"ws://127.0.0.1:{self.http_port}/ws"

    def _configure(self, etc: Path) -> None:
        self.http_port = free_port()
        with (etc / "modules.conf").open("a") as modules:
            modules.writelines(f"load => {name}\n" for name in MODULES)
        (etc / "http.conf").write_text(
            f"[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = {self.http_port}\n"
        )
        with (etc / "pjsip.conf").open("a") as pjsip:
            pjsip.write(f"\n#include {SHIPPED / 'pjsip_outbound_campaign.conf'}\n")
        (etc / "pjsip_wizard.conf").write_text(
            f"#include {SHIPPED / 'pjsip_wizard_outbound_campaign.conf'}\n\n" + self.phones
        )
        with (etc / "extensions.conf").open("a") as extensions:
            extensions.write("\n" + self.extra_dialplan)


@contextlib.contextmanager
def isolated_network():
    """This thread (and the processes it starts) in a network namespace of its own, as
    :func:`isolate_network` makes it, for the ``with`` block; then back in the original one.
    Sockets keep the namespace they were made in: a server made inside serves inside."""
    libc = ctypes.CDLL(None, use_errno=True)
    original = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    try:
        isolate_network()
        yield
    finally:
        if libc.setns(original, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back to the original network namespace failed")
        os.close(original)


def _lift_memory_limit() -> None:
    """Odoo's limit_memory_hard is an address-space limit (RLIMIT_AS) its process and children
    inherit; Chromium reserves far more address space than it uses and does not start under it."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


@contextlib.contextmanager
def chromium(url: str):
    """A headless Chromium on ``url``; yields its DevTools port (``/json`` endpoints)."""
    profile = tempfile.mkdtemp(prefix="octest-chromium-")
    port_file = Path(profile) / "DevToolsActivePort"
    log = Path(profile) / "chromium.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", url],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_lift_memory_limit,
        )
    try:
        deadline = time.monotonic() + 20
        while not port_file.is_file() or not port_file.read_text().strip():
            if time.monotonic() > deadline:
                raise AssertionError(f"chromium did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        yield int(port_file.read_text().split()[0])
    finally:
        process.kill()
        process.wait(10)
        shutil.rmtree(profile, ignore_errors=True)

"""One real Asterisk in a throwaway run directory, for a test module.

Started in the foreground of a child process (its own process group), on free ports, with
:mod:`realpbx.config` and :mod:`realpbx.dialplan`; every wait has a timeout, and :meth:`stop`
(or leaving the ``with`` block, or the interpreter exiting) kills what is left and removes the
run directory, so that a crashed or hung Asterisk never hangs the test run.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Mapping
from pathlib import Path

from . import config
from .dialplan import AGENTS_CONTEXT, CUSTOMERS_CONTEXT, Agent, Customer, render
from .finder import REPO

SHIPPED_DIALPLAN = REPO / "outbound_campaign" / "data" / "asterisk" / "extensions_outbound_campaign.conf"
#: Module folders of distribution builds, tried when none is found beside the executable.
SYSTEM_MODULES = (
    Path("/usr/lib/asterisk/modules"),
    Path("/usr/lib/x86_64-linux-gnu/asterisk/modules"),
    Path("/usr/lib64/asterisk/modules"),
)
START_TIMEOUT = 30.0
CLI_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
#: ``core restart now`` answers once Asterisk re-executes itself, after waiting up to 15 s for the
#: channels it hung up to go (``main/asterisk.c``, ``SHUTDOWN_TIMEOUT``): longer than a command.
RESTART_TIMEOUT = 20.0
_DB_LINE = re.compile(r"^/(?P<key>\S+)\s*: (?P<value>.*)$")


class AsteriskError(RuntimeError):
    """Asterisk did not start, did not answer, or died; the message ends with its log."""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def modules_dir(executable: str) -> Path:
    here = Path(executable).resolve().parent
    for candidate in (here / "modules", here.parent / "modules", *SYSTEM_MODULES):
        if (candidate / "pbx_config.so").is_file():
            return candidate
    raise AsteriskError(f"no Asterisk modules folder found for {executable}")


def _kill_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT)


def _cleanup(process: subprocess.Popen | None, run: Path) -> None:
    if process is not None:
        _kill_group(process)
    shutil.rmtree(run, ignore_errors=True)


class RealAsterisk:
    """A real Asterisk with the shipped dialplan, a test dialplan and the README's AMI user.

    ``customers`` maps numbers (E.164, the ``{number}`` of :attr:`dial_template`) to a
    :class:`Customer`; ``agents`` maps agent names to an :class:`Agent` (their channel is
    :meth:`agent_channel`)."""

    username = "odoo-dialer"
    host = "127.0.0.1"
    #: A PJSIP endpoint with an AOR that nothing registers to.
    endpoint = "octest-phone"
    dial_template = f"Local/{{number}}@{CUSTOMERS_CONTEXT}/n"

    def __init__(
        self,
        executable: str,
        customers: Mapping[str, Customer] | None = None,
        agents: Mapping[str, Agent] | None = None,
    ) -> None:
        if not executable:
            raise AsteriskError("no Asterisk executable given (see realpbx.find_asterisk)")
        self.executable = executable
        self.customers = dict(customers or {})
        self.agents = dict(agents or {})
        self.secret = secrets.token_hex(16)
        self.ami_port = 0
        self.sip_port = 0
        self.run_dir: Path | None = None
        self._conf: Path | None = None
        self._process: subprocess.Popen | None = None
        self._finalizer: weakref.finalize | None = None

    # ---- what tests use ----------------------------------------------------------------------

    @property
    def unregistered_endpoint(self) -> str:
        return f"PJSIP/{self.endpoint}"

    def agent_channel(self, name: str) -> str:
        if name not in self.agents:
            raise KeyError(f"no agent {name!r} in this Asterisk's test dialplan")
        return f"Local/{name}@{AGENTS_CONTEXT}"

    def dial_string(self, number: str) -> str:
        return self.dial_template.format(number=number)

    @property
    def log_path(self) -> Path:
        return self._run / "log" / "messages.log"

    def log(self) -> str:
        """Asterisk's notices, warnings and errors so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # ---- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> RealAsterisk:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._process is not None:
            raise AsteriskError("already started")
        self.run_dir = Path(tempfile.mkdtemp(prefix="realpbx-"))
        self.ami_port = free_port()
        self.sip_port = free_port(socket.SOCK_DGRAM)
        extensions = render(str(SHIPPED_DIALPLAN), self.customers, self.agents)
        self._conf = config.write_run_dir(
            self.run_dir,
            modules_dir(self.executable),
            config.Ports(ami=self.ami_port, sip=self.sip_port, rtp_start=free_port(socket.SOCK_DGRAM) & ~1),
            self.username,
            self.secret,
            self.endpoint,
            extensions,
        )
        self._configure(self._conf.parent)
        # The child keeps its own copy of the file descriptor.
        with open(self.run_dir / "log" / "console.log", "wb") as console:
            self._process = subprocess.Popen(
                [self.executable, "-C", str(self._conf), "-f", "-n", "-q"],
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._finalizer = weakref.finalize(self, _cleanup, self._process, self.run_dir)
        try:
            self._wait_ready(None)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop Asterisk (``core stop now``, then SIGKILL) and remove the run directory."""
        if self._process is not None and self._process.poll() is None:
            try:
                self._remote("core stop now", STOP_TIMEOUT)
                self._process.wait(STOP_TIMEOUT)
            except (subprocess.TimeoutExpired, AsteriskError):
                pass
        if self._finalizer is not None:
            self._finalizer()  # kills whatever is left of the group, removes the run directory
        self._process = None

    def _configure(self, etc: Path) -> None:
        """More configuration in ``etc`` before Asterisk starts (a subclass's: browser phones)."""

    def restart(self) -> None:
        """``core restart now`` (Asterisk re-executes itself, same pid), then wait until AMI
        accepts again."""
        before = self._control_socket_id()
        self.cli("core restart now", RESTART_TIMEOUT)
        self._wait_ready(before)

    # ---- commands ----------------------------------------------------------------------------

    def cli(self, command: str, timeout: float = CLI_TIMEOUT) -> str:
        """Output of a remote console command (``asterisk -rx``)."""
        self._check_alive()
        return self._remote(command, timeout)

    def astdb(self, family: str) -> dict[str, str]:
        """``database show <family>``: ``{key: value}``, keys below the family
        (``astdb("oc")`` → ``{"20250101/<uuid>": "dialstatus=…"}``)."""
        prefix = f"{family.strip('/')}/"
        entries = {}
        for line in self.cli(f"database show {family}").splitlines():
            match = _DB_LINE.match(line.strip())
            if match and match["key"].startswith(prefix):
                entries[match["key"][len(prefix) :]] = match["value"].strip()
        return entries

    # ---- internals -------------------------------------------------------------------------------

    @property
    def _run(self) -> Path:
        if self.run_dir is None:
            raise AsteriskError("not started")
        return self.run_dir

    def _remote(self, command: str, timeout: float) -> str:
        try:
            done = subprocess.run(
                [self.executable, "-C", str(self._conf), "-rx", command],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise AsteriskError(f"`{command}` did not answer within {timeout} s{self._log_tail()}") from exc
        return done.stdout.decode(errors="replace")

    def _check_alive(self) -> None:
        if self._process is None:
            raise AsteriskError("not started")
        if self._process.poll() is not None:
            raise AsteriskError(f"Asterisk exited with status {self._process.returncode}{self._log_tail()}")

    def _control_socket_id(self) -> tuple[int, int] | None:
        try:
            status = (self._run / "run" / "asterisk.ctl").stat()
        except OSError:
            return None
        return status.st_ino, status.st_mtime_ns

    def _wait_ready(self, old_socket: tuple[int, int] | None) -> None:
        """Until a new control socket answers ``core waitfullybooted`` and AMI greets us."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._check_alive()
            if time.monotonic() > deadline:
                raise AsteriskError(f"Asterisk not ready within {START_TIMEOUT} s{self._log_tail()}")
            current = self._control_socket_id()
            if current is not None and current != old_socket:
                try:
                    booted = "fully booted" in self._remote("core waitfullybooted", 5.0).lower()
                except AsteriskError:
                    booted = False
                if booted and self._ami_greets():
                    return
            time.sleep(0.05)

    def _ami_greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.ami_port), timeout=2.0) as sock:
                return sock.recv(64).startswith(b"Asterisk Call Manager")
        except OSError:
            return False

    def _log_tail(self, lines: int = 30) -> str:
        text = ""
        if self.run_dir is not None:
            for name in ("messages.log", "console.log"):
                path = self.run_dir / "log" / name
                if path.is_file():
                    tail = path.read_text(errors="replace").splitlines()[-lines:]
                    text += f"\n--- {name}\n" + "\n".join(tail)
        return text

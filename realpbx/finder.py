"""Where the tests find a real Asterisk: ``$ASTERISK``, then ``<repo>/../shared/asterisk-22/asterisk``,
then ``asterisk`` on ``PATH`` (the order of ``../shared/asterisk-22/README.md``).

``shared/`` is looked for beside the repository and then beside each folder above it, nearest
first: a git worktree (``<work>/wt/<name>``) finds the ``<work>/shared`` of its main checkout.

An Asterisk that is found but dies as it starts (a build for another processor: an illegal
instruction) is no Asterisk for the suite: the reason says so, in one line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_ASTERISK = Path("shared") / "asterisk-22" / "asterisk"


@dataclass(frozen=True)
class Found:
    """An Asterisk executable (``path``), or none and the one line saying why (``reason``)."""

    path: str | None
    reason: str


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _dies_at_start(path: str) -> str | None:
    """How ``path`` dies as it starts on this machine, or None if it runs. The remote console of
    a configuration that does not exist starts the program and exits at once (nothing to reach)."""
    try:
        returncode = subprocess.run(
            [path, "-C", os.devnull, "-rx", "core show version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        ).returncode
    except subprocess.TimeoutExpired:
        return None
    except OSError as exc:
        return f"it cannot be run ({exc})"
    if returncode >= 0:
        return None
    killed = signal.Signals(-returncode).name
    if killed == "SIGILL":
        return (
            "it is killed by SIGILL as it starts (built for another processor: an instruction this CPU lacks)"
        )
    return f"it is killed by {killed} as it starts"


def _usable(found: Found) -> Found:
    dies = _dies_at_start(found.path)
    if dies is None:
        return found
    return Found(None, f"real-PBX suite skipped: {found.path} found, but {dies}")


def shared_asterisk(repo: Path = REPO) -> Path | None:
    """``shared/asterisk-22/asterisk`` beside the repository or the nearest folder above it."""
    for folder in repo.parents:
        candidate = folder / SHARED_ASTERISK
        if _executable(candidate):
            return candidate
    return None


def find_asterisk(environ: dict[str, str] | None = None, repo: Path = REPO) -> Found:
    """The first Asterisk found, in the order above. ``$ASTERISK`` set to something that is not
    an executable is not passed over silently: it is the reason given, and nothing else is tried
    (the user asked for that one)."""
    env = os.environ if environ is None else environ
    wanted = env.get("ASTERISK", "")
    if wanted:
        if _executable(Path(wanted)):
            return _usable(Found(wanted, f"Asterisk from $ASTERISK: {wanted}"))
        return Found(None, f"real-PBX suite skipped: $ASTERISK={wanted} is not an executable file")
    shared = shared_asterisk(repo)
    if shared is not None:
        return _usable(Found(str(shared), f"Asterisk beside the repository: {shared}"))
    on_path = shutil.which("asterisk", path=env.get("PATH", os.defpath))
    if on_path:
        return _usable(Found(on_path, f"Asterisk on PATH: {on_path}"))
    return Found(
        None,
        f"real-PBX suite skipped: no Asterisk ($ASTERISK unset, no ../{SHARED_ASTERISK} above {repo},"
        " no asterisk on PATH)",
    )

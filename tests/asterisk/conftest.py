"""The real-Asterisk suite: one Asterisk per test module (a module-scoped fixture of its own,
built with :func:`start_pbx`), skipped with the finder's one line where no Asterisk is found."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from realpbx import RealAsterisk, find_asterisk

FOUND = find_asterisk()

requires_asterisk = pytest.mark.skipif(FOUND.path is None, reason=FOUND.reason)


def start_pbx(**behaviours) -> RealAsterisk:
    """A started :class:`RealAsterisk` (``customers=``, ``agents=``), or the test skipped."""
    if FOUND.path is None:
        pytest.skip(FOUND.reason)
    pbx = RealAsterisk(FOUND.path, **behaviours)
    pbx.start()
    return pbx


#: Asterisk's own races, logged as warnings whatever the dialplan: ``SHARED()`` read by
#: [oc-agent-bridge] on a customer who has just gone, and the hold music's generator writing one
#: last frame to a customer's Local channel being hung up (a customer who hangs up while waiting).
ASTERISK_RACES = (
    "Variable 'OC_WAITING' will be blank",
    "res_musiconhold.c: Failed to write frame to 'Local/",
)


def pbx_with_a_clean_log(expected: Iterable[str] = (), **behaviours) -> Iterator[RealAsterisk]:
    """For a module's fixture (``yield from``): a started Asterisk whose log, once the module's
    tests are done, holds no warning or error of the dialplan (an expression error, a missing
    application) beyond :data:`ASTERISK_RACES` and the ``expected`` ones the tests cause on purpose."""
    asterisk = start_pbx(**behaviours)
    yield asterisk
    log = asterisk.log()
    asterisk.stop()
    allowed = (*ASTERISK_RACES, *expected)
    faults = [
        line
        for line in log.splitlines()
        if ("WARNING" in line or "ERROR" in line) and not any(reason in line for reason in allowed)
    ]
    assert not faults, "\n".join(faults)

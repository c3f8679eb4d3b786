"""The real-Asterisk suite: one Asterisk per test module (a module-scoped fixture of its own,
built with :func:`start_pbx`), skipped with the finder's one line where no Asterisk is found."""

from __future__ import annotations

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

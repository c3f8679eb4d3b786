"""pbxsim — an AMI-speaking PBX simulator that answers like Asterisk 22.

Used by the demo, the tests and the benchmarks of ``outbound_campaign``. It emulates the
dialplan shipped in ``outbound_campaign/data/asterisk/`` (docs/call-flow-contract.md)::

    sim = PbxSimulator(Scenario(seed=1, time_scale=0.01, overrides={"+33102020202": "busy"}))
    await sim.start(port=0)
    ...  # point an AMI client at 127.0.0.1:sim.port
    await sim.stop()
"""

from .calls import SimCall
from .faults import Faults
from .permissions import DEFAULT_USER, AmiUser
from .scenario import Scenario
from .simulator import LoggedAction, PbxSimulator, run_in_thread

__all__ = [
    "DEFAULT_USER",
    "AmiUser",
    "Faults",
    "LoggedAction",
    "PbxSimulator",
    "Scenario",
    "SimCall",
    "run_in_thread",
]

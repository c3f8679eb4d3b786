"""realpbx — a real Asterisk for the tests: found, configured, started and thrown away.

    found = find_asterisk()           # $ASTERISK, ../shared/asterisk-22/asterisk, PATH
    with RealAsterisk(found.path, customers={"+442079460001": Customer.answer(talk=3)},
                      agents={"agent1": Agent.answer(ring=1)}) as pbx:
        ...  # AMI on pbx.host:pbx.ami_port as pbx.username / pbx.secret

The shipped dialplan (``outbound_campaign/data/asterisk/``) is included as shipped; the test
dialplan (:mod:`realpbx.dialplan`) adds customers and agents. Plain Python, no Odoo.
"""

from .dialplan import AGENTS_CONTEXT, CUSTOMERS_CONTEXT, Agent, Customer
from .finder import Found, find_asterisk
from .server import AsteriskError, RealAsterisk

__all__ = [
    "AGENTS_CONTEXT",
    "CUSTOMERS_CONTEXT",
    "Agent",
    "AsteriskError",
    "Customer",
    "Found",
    "RealAsterisk",
    "find_asterisk",
]

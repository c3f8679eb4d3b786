"""The dialer's decisions, in pure Python: no ``odoo`` import anywhere below this package.

The Odoo models and the two hosts (``odoo-bin outbound_dialer`` and the cron burst) feed it plain
data and apply what it decides; everything here is tested with plain pytest.
"""

"""The dialer host: the glue between the pure engine (``dialer/``), the AMI link and the database.

``store`` does the database side in short transactions; ``runner`` owns the asyncio loop and the
AMI connection, and keeps what it has yet to store in ``pending``. Both hosts use them:
``odoo-bin outbound_dialer`` (``cli/``) and the cron burst (``outbound.dialer.server._cron_dial``).
"""

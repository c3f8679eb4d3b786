"""The dialer's decisions, in pure Python: no ``odoo`` import anywhere below this package.

The Odoo models and the two hosts (``odoo-bin outbound_dialer`` and the cron burst) feed it plain
data and apply what it decides; everything here is tested with plain pytest.

Both hosts drive the engine in this order: load the state as the views of ``views`` →
``planning.plan`` → send each order's ``to_ami_headers()`` (``orders``, after committing its call
row) → ``events.fold_event`` for every AMI event and action response (routed with
``events.call_uuid_of``), ``events.check_timeouts`` on a tick → a ``CallResult`` when a call ends
→ ``retries.decide_retry`` for its contact → after any reconnect, ``reconciliation.reconcile``
before planning again (reading each call's AstDB records at ``astdb.astdb_locations``). None of
these does I/O or reads the clock.
"""

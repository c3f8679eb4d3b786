"""The contact import's pipeline, handed its steps by ``wizards/outbound_contact_import.py``.

No Odoo (tested with plain pytest under ``tests/importer/``): ``columns`` (column matching),
``rows`` (encodings, CSV rows, cleaning, the rejects file), ``spreadsheets`` (XLSX/XLS streamed),
``e164`` and ``phone_worker`` (one parse per number, on the other cores), ``sql_copy`` (COPY text).
With Odoo: ``reading`` (a file as a table, base_import's sniffing and ODS reader), ``phones``
(normalisation as Odoo's ``phone_validation``), ``contact_insert`` (COPY and the ORM's replay),
``pipeline`` (one import run: rows checked, normalised, deduplicated, inserted).
"""

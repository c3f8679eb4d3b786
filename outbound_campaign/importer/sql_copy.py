"""Set-based insertion: rows streamed to PostgreSQL with ``COPY ... FROM STDIN`` (text format).

Empty fields are NULL (``NULL ''``): a line is then built without a marker per missing value, and
fields known to hold no tab or line break (cleaned text) need one pass for their backslashes only.
"""

import io

from psycopg2 import sql

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# Bytes handed to PostgreSQL at a time: fewer, bigger messages than psycopg2's default 8 kB.
COPY_BLOCK = 1024 * 1024


def copy_field(value):
    """One field in COPY text format: empty for NULL (and for an empty string), specials escaped."""
    return "" if value is None else str(value).translate(_ESCAPES)


def copy_line(values):
    """One line of COPY text format: tab-separated fields."""
    return "\t".join(map(copy_field, values)) + "\n"


def copy_clean_fields(values):
    """Fields already strings ("" for NULL) holding no tab, CR or LF, tab-separated, for a line:
    their backslashes escaped in one pass over the joined text."""
    return "\t".join(values).replace("\\", "\\\\")


def copy_lines(cr, table, columns, lines):
    """Insert ``lines`` (COPY text lines, each ending with a line feed, fields in ``columns``
    order) into ``table`` with one COPY."""
    buffer = io.StringIO("".join(lines))
    query = sql.SQL("COPY {} ({}) FROM STDIN WITH (NULL '')").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    raw = psycopg2_cursor(cr)
    raw.copy_expert(query.as_string(raw), buffer, size=COPY_BLOCK)


def psycopg2_cursor(cr):
    """The psycopg2 cursor behind Odoo's cursor ``cr`` (``cr`` itself if it is one). Odoo's
    ``Cursor`` has no COPY: ``COPY ... FROM STDIN`` is psycopg2's ``copy_expert``, and quoting the
    composed statement's identifiers needs psycopg2's cursor too. Odoo keeps it as ``_obj``."""
    return getattr(cr, "_obj", cr)


def copy_rows(cr, table, columns, rows):
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` with one COPY."""
    copy_lines(cr, table, columns, map(copy_line, rows))

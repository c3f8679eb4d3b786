"""Set-based insertion: rows streamed to PostgreSQL with ``COPY ... FROM STDIN`` (text format)."""

import io

from psycopg2 import sql

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(values):
    """One line of COPY text format: tab-separated, ``\\N`` for NULL, specials escaped."""
    return "\t".join("\\N" if value is None else str(value).translate(_ESCAPES) for value in values) + "\n"


def copy_rows(cr, table, columns, rows):
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` with one COPY."""
    buffer = io.StringIO("".join(map(copy_line, rows)))
    query = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cr.copy_expert(query.as_string(cr._obj), buffer)

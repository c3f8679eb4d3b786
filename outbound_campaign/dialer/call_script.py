"""A campaign's call script for one contact: the manager's HTML with ``{{ name }}`` placeholders
replaced by the contact's values.

The script is the manager's markup (an Html field, sanitised by Odoo when saved); the values are
imported text and are only ever text: each is HTML-escaped, and placeholders are replaced in one
pass over the script, so a value that itself reads ``{{ lastname }}`` or ``${x}`` is shown as
written, never expanded.
"""

import html
import re

#: ``{{ name }}``: a contact field's name or an imported column's header (no braces in it).
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def placeholders(script):
    """The names the script's placeholders ask for, in order, once each."""
    return list(dict.fromkeys(PLACEHOLDER.findall(script or "")))


def render(script, values):
    """``script`` with each placeholder replaced by its value in ``values`` (``{name: text}``),
    escaped; a placeholder of no value is left out."""

    def value_of(match):
        value = values.get(match.group(1))
        return html.escape(str(value)) if value not in (None, False) else ""

    return PLACEHOLDER.sub(value_of, script or "")

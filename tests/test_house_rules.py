"""The written rules of the house (``docs/architecture.md``), checked on the source itself.

* Nothing under ``dialer/`` imports Odoo. (``tests/conftest.py`` mounts the package without its
  ``__init__``, which only proves the dialer needs none of the models: Odoo is importable where
  the tests run, so an ``import odoo`` would not fail there. This test reads the imports.)
* A rule of ``dialer/rules.py`` is written there only: no other module of the addon defines a
  name, a function or a pattern literal of its own for it.
* SQL is written one way: every ``execute`` of the addon is given an ``odoo.tools.SQL``, never a
  string and its parameters.
* No module under ``dialer/`` grows past :data:`DIALER_MODULE_MAX_LINES` lines: one concept per
  module, each small enough to hold in one's head (issue 10).
"""

import ast
from pathlib import Path

import pytest

from outbound_campaign.dialer import pacing, rules

ADDON = Path(__file__).resolve().parents[1] / "outbound_campaign"
RULES = ADDON / "dialer" / "rules.py"
#: The most lines a module of ``dialer/`` may have; past it, it holds more than one concept.
DIALER_MODULE_MAX_LINES = 500
SOURCES = sorted(path for path in ADDON.rglob("*.py") if path != RULES and "tests" not in path.parts)


def _tree(path):
    return ast.parse(path.read_text(), filename=str(path))


def _public_names_of_rules():
    names = set()
    for node in _tree(RULES).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return {name for name in names if not name.startswith("_")}


def _rule_literals():
    """The texts a copy of a rule would spell out: each pattern, the dial-string characters, the
    weekday fields, and the outcomes that are no customer call."""
    patterns = {value.pattern for value in vars(rules).values() if hasattr(value, "pattern")}
    return patterns | {
        rules.DIAL_STRING_CHARACTERS,
        rules.DIAL_STRING_REGEX,
        frozenset(rules.WEEKDAY_FIELDS),
        frozenset(pacing.NOT_CUSTOMER_CALLS),
    }


def _literal(node):
    """A string constant, or a tuple/list/set of string constants (as a frozenset)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Tuple | ast.List | ast.Set) and all(
        isinstance(elt, ast.Constant) and isinstance(elt.value, str) for elt in node.elts
    ):
        return frozenset(elt.value for elt in node.elts)
    return None


def _copies(tree):
    names = _public_names_of_rules()
    literals = _rule_literals()
    copies = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in names:
            copies.append(f"line {node.lineno}: defines {node.name}")
        elif isinstance(node, ast.Assign) and node in tree.body:
            copies += [
                f"line {node.lineno}: assigns {target.id}"
                for target in node.targets
                if isinstance(target, ast.Name) and target.id in names
            ]
        value = _literal(node)
        if value is not None and value in literals:
            copies.append(
                f"line {node.lineno}: spells out {sorted(value) if isinstance(value, frozenset) else value!r}"
            )
    return copies


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ADDON)))
def test_no_module_defines_its_own_copy_of_a_rule(path):
    copies = _copies(_tree(path))
    assert not copies, (
        f"{path.name} copies rules of dialer/rules.py or dialer/pacing.py; import them: {copies}"
    )


def test_a_copy_of_a_rule_is_caught():
    """The shapes the copies had before ``rules.py``, each caught."""
    source = (
        "import re\n"
        'E164 = re.compile(r"^\\+[1-9]\\d{6,14}$")\n'
        'CALLER_ID_NAME = re.compile(r"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]")\n'
        'WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")\n'
        "def dial_string(template, number):\n"
        '    return template.format(number=number) if number not in ("agent_no_answer", "trunk_refused", "unknown") else ""\n'
    )
    copies = _copies(ast.parse(source))
    assert len(copies) == 6, copies


@pytest.mark.parametrize("path", sorted((ADDON / "dialer").glob("*.py")), ids=lambda path: path.name)
def test_nothing_under_dialer_imports_odoo(path):
    imported = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert "odoo" not in imported


@pytest.mark.parametrize("path", sorted((ADDON / "dialer").glob("*.py")), ids=lambda path: path.name)
def test_no_dialer_module_grows_past_the_bound(path):
    lines = len(path.read_text().splitlines())
    assert lines <= DIALER_MODULE_MAX_LINES, (
        f"{path.name} has {lines} lines: split it along its concepts (docs/architecture.md)"
    )


def _raw_queries(tree):
    """``execute`` calls given something else than ``SQL(...)`` (a string and its parameters)."""
    return [
        f"line {node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("execute", "executemany")
        and node.args
        and not (isinstance(node.args[0], ast.Call) and getattr(node.args[0].func, "id", None) == "SQL")
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ADDON)))
def test_every_query_is_built_with_odoo_sql(path):
    raw = _raw_queries(_tree(path))
    assert not raw, f"{path.name} executes queries not built with odoo.tools.SQL: {raw}"


def test_a_raw_query_is_caught():
    source = (
        'cr.execute("SELECT id FROM t WHERE id = %s", [1])\n'
        'cr.execute(f"SELECT {column} FROM t")\n'
        "cr.execute(query, params)\n"
        'cr.execute(SQL("SELECT id FROM t WHERE id = %s", 1))\n'
    )
    assert _raw_queries(ast.parse(source)) == ["line 1", "line 2", "line 3"]

"""The layout rules of issue 18 that import-linter cannot express (docs/ARCHITECTURE.md).

- No module over 600 lines and no function over 80 in the application packages.
- Controllers, actors and the CLI never build queries: they import no query constructs
  from SQLAlchemy (taking an ``AsyncSession`` from dependency injection to hand it to a
  service is allowed).

What is still over the limits is listed below, with its size when the rule was written:
a listed entry may shrink but not grow, a new one fails, and one fixed must be removed
from its list, so the lists only get shorter.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("collection", "tenants", "core", "portal", "debtor_site", "workers", "quita")
FRONT_DOORS = ("portal", "debtor_site", "workers", "quita")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

LONG_MODULES = {
    "collection/accounts/records.py": 648,
    "collection/agency/casework.py": 822,
    "collection/escalation/service.py": 987,
    "collection/models.py": 949,
    "collection/negotiation/special_offers.py": 759,
    "collection/payments/service.py": 1114,
    "collection/regua/service.py": 882,
    "collection/reports/dashboards.py": 673,
    "tenants/services/auth.py": 766,
}
LONG_FUNCTIONS = {
    "collection/accounts/records.py:create_debt": 113,
    "collection/accounts/timeline.py:account_timeline": 99,
    "collection/agency/casework.py:account_view": 91,
    "collection/domain/offers.py:make_offers": 141,
    "collection/escalation/notice_letters_pdf.py:_letter": 105,
    "collection/imports/reading/rows.py:validate": 136,
    "collection/negotiation/acceptance.py:create_agreement": 146,
    "collection/negotiation/plan_requests.py:send_proposal": 100,
    "collection/negotiation/special_offers.py:account_for_proposal": 84,
    "collection/payments/service.py:start_payment": 119,
    "collection/payments/service.py:settle_debts": 82,
    "collection/privacy/rights.py:copy_of_data": 110,
    "workers/actors.py:register": 242,
    "quita/app.py:create_app": 178,
    "quita/cli.py:build_parser": 85,
    "quita/demo.py:load_demo": 85,
    "quita/demo.py:_debtors": 86,
}
# Names that build or run a statement; a front door importing one builds a query itself.
QUERY_NAMES = {
    "select", "insert", "update", "delete", "text", "func", "or_", "and_", "exists",
    "literal", "literal_column", "union_all", "case", "tuple_",
}  # fmt: skip
QUERYING_FRONT_DOORS = {
    "portal/payments.py",
    "portal/regua.py",
    "quita/cli.py",
    "quita/demo.py",
    "quita/imports_cli.py",
    "quita/app.py",
    "workers/actors.py",
}


def _modules(packages: tuple[str, ...]) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _sizes() -> tuple[dict[str, int], dict[str, int]]:
    modules: dict[str, int] = {}
    functions: dict[str, int] = {}
    for path in _modules(PACKAGES):
        source = path.read_text(encoding="utf-8")
        modules[_name(path)] = source.count("\n")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                functions[f"{_name(path)}:{node.name}"] = node.end_lineno - node.lineno + 1
    return modules, functions


@pytest.mark.parametrize(
    ("sizes", "limit", "known"),
    [(0, MAX_MODULE_LINES, LONG_MODULES), (1, MAX_FUNCTION_LINES, LONG_FUNCTIONS)],
    ids=["modules", "functions"],
)
def test_nothing_grows_past_the_size_limits(sizes: int, limit: int, known: dict[str, int]):
    measured = _sizes()[sizes]
    over = {name: size for name, size in measured.items() if size > limit}
    new = {name: size for name, size in over.items() if name not in known}
    grown = {name: size for name, size in over.items() if name in known and size > known[name]}
    fixed = sorted(name for name in known if measured.get(name, 0) <= limit)
    assert new == {}, f"over {limit} lines: split it"
    assert grown == {}, "a listed module or function grew: split it instead"
    assert fixed == [], "within the limit now: remove it from the list"


def _query_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module in {"sqlalchemy", "sqlalchemy.sql"}:
            found |= {alias.name for alias in node.names} & QUERY_NAMES
    return found


def test_controllers_actors_and_the_cli_build_no_queries():
    building = {_name(p) for p in _modules(FRONT_DOORS) if _query_imports(p)}
    assert building - QUERYING_FRONT_DOORS == set(), "call a service function instead"
    assert QUERYING_FRONT_DOORS - building == set(), "builds none now: remove it from the list"

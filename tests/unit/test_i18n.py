"""Every message a person can see has its pt-BR translation in the catalog."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from collection.models import ContactKind, DebtStatus, ImportStatus
from core.i18n import CATALOG, brl, gettext, local_date
from tenants.roles import Role

ROOT = Path(__file__).resolve().parents[2]
METHOD_MAP = [
    ("**/templates/**.html", "jinja2"),
    ("**/templates/**.txt", "jinja2"),
    ("**.py", "python"),
]
PACKAGES = [
    "core",
    "tenants",
    "portal",
    "debtor_site",
    "quita",
    "workers",
    "integrations",
    "collection",
]


def _msgids() -> set[str]:
    ids: set[str] = set()
    for package in PACKAGES:
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / package,
            METHOD_MAP,
            keywords={"_": None, "gettext": None},
            options_map={"**/templates/**": {"extensions": "jinja2.ext.i18n"}},
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_extracted_message_has_a_portuguese_translation():
    from babel.messages.pofile import read_po

    ids = _msgids()
    assert len(ids) > 100
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(ids - translated)
    assert missing == []
    assert gettext("Sign in") == "Entrar"


def test_values_shown_through_the_catalog_are_translated():
    from babel.messages.pofile import read_po

    with CATALOG.open("rb") as fh:
        catalog = read_po(fh)
    for value in [*Role, *ContactKind, *DebtStatus, *ImportStatus]:
        entry = catalog.get(value.value)
        assert entry is not None and entry.string, value


def test_catalog_file_is_the_pt_br_one():
    assert CATALOG.name == "quita.po" and "pt_BR" in CATALOG.parts


def test_money_and_dates_are_formatted_for_brazil():
    from datetime import date

    assert brl(123456) == "R$\u00a01.234,56"
    assert brl(-5) == "-R$\u00a00,05"
    assert local_date(date(2024, 3, 5)) == "05/03/2024"


def test_percentages_are_written_the_brazilian_way():
    from decimal import Decimal

    from core.i18n import percent

    assert percent(Decimal("0.0199")) == "1,99%"
    assert percent("0.26684") == "26,68%"
    assert percent(0) == "0,00%"
    assert percent("12.5") == "1.250,00%"


def test_the_catalog_has_each_message_once():
    # Babel keeps the last of two entries with one msgid silently: a later edit of the
    # first would then change nothing on screen.
    import collections

    ids = [
        line
        for line in CATALOG.read_text(encoding="utf-8").splitlines()
        if line.startswith("msgid ") and line != 'msgid ""'
    ]
    assert [m for m, n in collections.Counter(ids).items() if n > 1] == []

"""Translations and locale formatting for people in Brazil.

Messages are written in English in code and templates and translated through the
gettext catalog ``core/locale/pt_BR/LC_MESSAGES/quita.po``. The catalog is compiled in
memory at start-up, so there is no build step and no compiled file in the repository.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment

from core.clock import SAO_PAULO

LOCALE = "pt_BR"
LOCALE_DIR = Path(__file__).parent / "locale"
CATALOG = LOCALE_DIR / LOCALE / "LC_MESSAGES" / "quita.po"


@lru_cache(maxsize=1)
def translations() -> Translations:
    """The pt-BR catalog, compiled once per process."""
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale=LOCALE)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain="quita")


def gettext(message: str) -> str:
    """Translate a message to pt-BR."""
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations().ngettext(singular, plural, n)


_ = gettext


def brl(cents: int) -> str:
    """``123456`` → ``R$ 1.234,56`` (integer arithmetic: exact, and fast in big tables)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    return f"{sign}R$\u00a0{whole:,}".replace(",", ".") + f",{frac:02d}"


def local_date(value: date | datetime | None, fmt: str = "short") -> str:
    """A date as a person in Brazil reads it (``05/03/2024``)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(SAO_PAULO).date()
    if fmt == "short":
        return value.strftime("%d/%m/%Y")
    return format_date(value, format=fmt, locale=LOCALE)


def local_datetime(value: datetime | None) -> str:
    """An instant in São Paulo time (``05/03/2024 14:30``)."""
    if value is None:
        return ""
    return format_datetime(value.astimezone(SAO_PAULO), "dd/MM/yyyy HH:mm", locale=LOCALE)


def percent(rate: Decimal | float | str, places: int = 2) -> str:
    """A rate as a pt-BR percentage: ``Decimal("0.0199")`` → ``1,99%``."""
    value = (Decimal(str(rate)) * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    whole, _, frac = f"{abs(value):f}".partition(".")
    sign = "-" if value < 0 else ""
    return f"{sign}{int(whole):,}".replace(",", ".") + (f",{frac}" if frac else "") + "%"


def number(value: float | int | Decimal) -> str:
    """A plain number as a person in Brazil reads it: ``1234`` → ``1.234``,
    ``0.25`` → ``0,25`` (chart axes of counts, never ``0.25``)."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    text = f"{Decimal(str(value)).normalize():f}"
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}".replace(",", ".") + f",{frac}"


def file_size(size: int) -> str:
    """A file size as a person in Brazil reads it: ``1,7 kB``, ``320 kB``, ``2,4 MB``,
    ``512 bytes`` (1 kB = 1024 bytes, at most one decimal, comma)."""
    if size < 1024:
        return f"{size} bytes"
    for unit, scale in (("kB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if size < scale * 1024 or unit == "GB":
            value = (Decimal(size) / scale).quantize(Decimal("0.1"), ROUND_HALF_UP)
            text = f"{value}".removesuffix(".0").replace(".", ",")
            return f"{text} {unit}"
    raise AssertionError("unreachable")


def install_translations(env: Environment) -> None:
    """Give a Jinja environment ``_()``, the pt-BR catalog and the formatting filters."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(translations(), newstyle=True)  # type: ignore[attr-defined]
    env.filters["brl"] = brl
    env.filters["local_date"] = local_date
    env.filters["local_datetime"] = local_datetime
    env.filters["percent"] = percent
    env.filters["number"] = number
    env.filters["file_size"] = file_size

"""Money as integer centavos: parsing pt-BR amounts, rounding rates, formatting BRL.

Amounts are ``int`` centavos everywhere; rates are ``Decimal`` fractions (``0.02`` is
2%). Anything that multiplies money by a rate goes through ``apply_rate`` so that the
one rounding rule of the product (half up, to the centavo) lives in one place.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "InvalidAmount",
    "apply_rate",
    "format_brl",
    "format_rate",
    "parse_brl",
    "round_cents",
]

_CURRENCY = re.compile(r"^\s*(?:R\$)?\s*", re.IGNORECASE)
# Spreadsheets and babel use no-break spaces; some editors turn "-" into a real minus.
_SPACES = str.maketrans({"\u00a0": "", "\u202f": "", " ": "", "\t": ""})
_THOUSANDS = re.compile(r"\d{1,3}(\.\d{3})*|\d+")
_ONE = Decimal(1)


class InvalidAmount(ValueError):
    """A text that is not an amount of money; the message is pt-BR."""


def round_cents(value: Decimal) -> int:
    """Round a Decimal amount of centavos half up to a whole centavo."""
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP))


def apply_rate(cents: int, rate: Decimal) -> int:
    """``cents × rate`` rounded half up to the centavo (fees, discounts, interest)."""
    return round_cents(cents * rate)


def parse_brl(text: str) -> int:
    """Parse a pt-BR (or plain ISO) amount into centavos.

    Accepts ``"1.234,56"``, ``"R$ 99,90"``, ``"2405,53"``, ``"1234.56"`` and ``"-10,00"``.
    A lone dot followed by three digits is a thousands separator (``"1.234"`` is
    R$ 1.234,00), as a pt-BR reader means it. The sign is kept; callers decide whether
    negatives are allowed.
    """
    raw = _CURRENCY.sub("", str(text)).translate(_SPACES).replace("\u2212", "-")
    negative = raw.startswith("-")
    if negative:
        raw = _CURRENCY.sub("", raw[1:]).strip()
    if not raw or not re.fullmatch(r"[0-9.,]+", raw):
        raise InvalidAmount("valor não numérico")
    if "," in raw:
        whole, _, frac = raw.partition(",")
        if "," in frac or "." in frac:
            raise InvalidAmount("valor não numérico")
        if whole and not _THOUSANDS.fullmatch(whole):
            raise InvalidAmount("valor não numérico")
        whole = whole.replace(".", "")
    elif raw.count(".") == 1 and len(raw.split(".")[1]) != 3:
        whole, _, frac = raw.partition(".")
    elif "." in raw:
        if not re.fullmatch(r"\d{1,3}(\.\d{3})+", raw):
            raise InvalidAmount("valor não numérico")
        whole, frac = raw.replace(".", ""), ""
    else:
        whole, frac = raw, ""
    if not whole and not frac:
        raise InvalidAmount("valor não numérico")
    if len(frac.rstrip("0")) > 2:
        raise InvalidAmount("valor com mais de duas casas decimais")
    try:
        value = Decimal(f"{whole or '0'}.{frac or '0'}")
    except InvalidOperation as exc:  # pragma: no cover - the checks above exclude it
        raise InvalidAmount("valor não numérico") from exc
    cents = round_cents(value * 100)
    return -cents if negative else cents


def format_brl(cents: int) -> str:
    """Format centavos for a person: ``123456`` → ``"R$ 1.234,56"`` (no-break space)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    grouped = f"{whole:,}".replace(",", ".")
    return f"{sign}R$\u00a0{grouped},{frac:02d}"


def format_rate(rate: Decimal, places: int = 2) -> str:
    """Format a fraction as a pt-BR percentage: ``Decimal("0.0199")`` → ``"1,99%"``."""
    percent = (rate * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    whole, _, frac = f"{abs(percent):f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    sign = "-" if percent < 0 else ""
    return f"{sign}{grouped},{frac}%" if frac else f"{sign}{grouped}%"

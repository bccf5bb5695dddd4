"""Money as integer centavos: parsing pt-BR amounts, rounding rates, formatting BRL."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["InvalidAmount", "format_brl", "parse_brl", "round_cents"]

_CURRENCY = re.compile(r"^\s*(?:R\$)?\s*", re.IGNORECASE)


class InvalidAmount(ValueError):
    """A text that is not an amount of money; the message is pt-BR."""


def round_cents(value: Decimal) -> int:
    """Round a Decimal amount of centavos half up to a whole centavo."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_brl(text: str) -> int:
    """Parse a pt-BR (or plain ISO) amount into centavos.

    Accepts ``"1.234,56"``, ``"R$ 99,90"``, ``"2405,53"``, ``"1234.56"`` and ``"-10,00"``.
    The sign is kept; callers decide whether negatives are allowed.
    """
    raw = _CURRENCY.sub("", str(text)).strip().replace("\u00a0", "").replace(" ", "")
    negative = raw.startswith("-")
    if negative:
        raw = _CURRENCY.sub("", raw[1:]).strip()
    if not raw or not re.fullmatch(r"[0-9.,]+", raw):
        raise InvalidAmount("valor não numérico")
    if "," in raw:
        if raw.count(",") > 1:
            raise InvalidAmount("valor não numérico")
        whole, _, frac = raw.partition(",")
        if whole and not re.fullmatch(r"\d{1,3}(\.\d{3})*|\d+", whole):
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
    if len(frac) > 2 and frac.rstrip("0") and len(frac.rstrip("0")) > 2:
        raise InvalidAmount("valor com mais de duas casas decimais")
    try:
        value = Decimal(f"{whole or '0'}.{frac or '0'}")
    except InvalidOperation as exc:  # pragma: no cover - guarded by the regexes above
        raise InvalidAmount("valor não numérico") from exc
    cents = round_cents(value * 100)
    return -cents if negative else cents


def format_brl(cents: int) -> str:
    """Format centavos for a person: ``123456`` → ``"R$ 1.234,56"``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    grouped = f"{whole:,}".replace(",", ".")
    return f"{sign}R$\u00a0{grouped},{frac:02d}"

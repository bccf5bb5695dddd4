"""Reading a negotiation policy from a TOML file (format: docs/POLICY.md).

Top-level keys name the policy; ``[charges]`` holds the contractual charges;
``[defaults]`` holds bucket settings that every ``[[buckets]]`` entry inherits unless it
sets its own. Rates are fractions written as strings (``"0.02"``) or percentages
(``"2%"``, ``"1,99%"``); TOML floats are accepted and read through their decimal text.
Amounts are integer centavos or pt-BR strings (``"R$ 50,00"``). Unknown keys are errors,
so a typo never silently falls back to a default. Every error is a PolicyError whose
field is the path in the file (``buckets[1].max_installments``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from collection.domain.errors import PolicyError
from collection.domain.money import InvalidAmount, parse_brl
from collection.domain.policy import AgeBucket, NegotiationPolicy
from collection.domain.valuation import ContractTerms

__all__ = ["load_policy_toml"]


def _rate(path: str, value: object) -> Decimal:
    if isinstance(value, bool):
        raise PolicyError(path, "informe uma taxa, não verdadeiro/falso")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip().replace(",", ".")
        percent = text.endswith("%")
        try:
            number = Decimal(text.rstrip("%").strip())
        except InvalidOperation:
            raise PolicyError(path, f"taxa inválida: {value!r}") from None
        if not number.is_finite():
            raise PolicyError(path, f"taxa inválida: {value!r}")
        return number / 100 if percent else number
    raise PolicyError(path, 'informe uma taxa como texto, por exemplo "0.02" ou "2%"')


def _integer(path: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(path, "informe um número inteiro")
    return value


def _money(path: str, value: object) -> int:
    if isinstance(value, bool):
        raise PolicyError(path, 'informe um valor em centavos ou em reais ("R$ 50,00")')
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return parse_brl(value)
        except InvalidAmount as exc:
            raise PolicyError(path, str(exc)) from None
    raise PolicyError(path, 'informe um valor em centavos ou em reais ("R$ 50,00")')


def _flag(path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(path, "informe true ou false")
    return value


def _text(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise PolicyError(path, "informe um texto")
    return value


Reader = Callable[[str, object], Any]

_BUCKET_FIELDS: dict[str, Reader] = {
    "cash_discount_charges": _rate,
    "cash_discount_principal": _rate,
    "installment_discount_charges": _rate,
    "installment_discount_principal": _rate,
    "max_installments": _integer,
    "monthly_rate": _rate,
    "min_installment": _money,
    "min_down_payment": _money,
    "min_down_payment_rate": _rate,
    "validity_days": _integer,
}
_BUCKET_BOUNDS: dict[str, Reader] = {"min_days": _integer, "max_days": _integer}
_CHARGES_FIELDS: dict[str, Reader] = {
    "late_fee_rate": _rate,
    "late_interest_monthly": _rate,
    "fees_rate": _rate,
    "monetary_correction": _flag,
}
_TOP_FIELDS: dict[str, Reader] = {
    "version": _integer,
    "name": _text,
    "portfolio": _text,
    "grace_days": _integer,
    "allow_voluntary_prescribed": _flag,
}
_TABLES = ("charges", "defaults", "buckets")


def _read(prefix: str, table: object, fields: Mapping[str, Reader]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise PolicyError(prefix, "deve ser uma tabela TOML")
    values: dict[str, Any] = {}
    for key, raw in table.items():
        path = f"{prefix}.{key}"
        reader = fields.get(key)
        if reader is None:
            raise PolicyError(path, "campo desconhecido")
        values[key] = reader(path, raw)
    return values


def load_policy_toml(text: str) -> NegotiationPolicy:
    """Read a negotiation policy from TOML text; raises PolicyError naming the field."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError("arquivo", f"TOML inválido: {exc}") from None
    except RecursionError:  # arrays or tables nested hundreds deep
        raise PolicyError("arquivo", "TOML inválido: aninhamento profundo demais") from None
    top: dict[str, Any] = {}
    for key, raw in document.items():
        if key in _TABLES:
            continue
        reader = _TOP_FIELDS.get(key)
        if reader is None:
            raise PolicyError(key, "campo desconhecido")
        top[key] = reader(key, raw)
    if top.pop("version", 1) != 1:
        raise PolicyError("version", "versão de arquivo não suportada (use 1)")

    charges_values = _read("charges", document.get("charges", {}), _CHARGES_FIELDS)
    try:
        charges = ContractTerms(**charges_values)
    except PolicyError as exc:
        raise exc.prefixed("charges") from None

    defaults = _read("defaults", document.get("defaults", {}), _BUCKET_FIELDS)
    raw_buckets = document.get("buckets")
    if not isinstance(raw_buckets, list) or not raw_buckets:
        raise PolicyError("buckets", "declare pelo menos uma faixa com [[buckets]]")
    buckets: list[AgeBucket] = []
    for index, raw in enumerate(raw_buckets):
        prefix = f"buckets[{index}]"
        own = _read(prefix, raw, {**_BUCKET_FIELDS, **_BUCKET_BOUNDS})
        if "min_days" not in own:
            raise PolicyError(f"{prefix}.min_days", "campo obrigatório")
        try:
            buckets.append(AgeBucket(**{**defaults, **own}))
        except PolicyError as exc:
            error = exc.prefixed(prefix)
            if exc.field in defaults and exc.field not in own:
                error = PolicyError(error.field, f"{exc.message} (valor herdado de [defaults])")
            raise error from None
    return NegotiationPolicy(buckets=tuple(buckets), charges=charges, **top)

"""Brazilian documents: CPF (people) and CNPJ (companies).

Check digits follow the Receita Federal rules; CNPJ accepts the alphanumeric form that
starts in 2026 (each character counts as its ASCII code minus 48).
"""

from __future__ import annotations

import re

__all__ = [
    "InvalidDocument",
    "complete_cnpj",
    "complete_cpf",
    "format_cnpj",
    "format_cpf",
    "is_valid_cnpj",
    "is_valid_cpf",
    "mask_cpf",
    "normalize_cnpj",
    "normalize_cpf",
]

_CPF_STRIP = re.compile(r"[\s.\-/]")
_CNPJ_STRIP = re.compile(r"[\s.\-/]")
_CNPJ_BODY = re.compile(r"^[0-9A-Z]{12}[0-9]{2}$")
_ASCII_DIGITS = re.compile(r"[0-9]+")


class InvalidDocument(ValueError):
    """A CPF or CNPJ that cannot be valid; the message is pt-BR and fit to show."""


def _cpf_digit(digits: str) -> int:
    weight = len(digits) + 1
    total = sum(int(d) * (weight - i) for i, d in enumerate(digits))
    return (total * 10 % 11) % 10


def _cpf_text(raw: str | int | float) -> str:
    # A spreadsheet cell read as a number arrives as 1144477735 or 1144477735.0.
    if isinstance(raw, bool):
        raise InvalidDocument("CPF deve ter 11 dígitos")
    if isinstance(raw, float):
        if not raw.is_integer():
            raise InvalidDocument("CPF deve ter 11 dígitos")
        raw = int(raw)
    if isinstance(raw, int) and raw < 0:
        raise InvalidDocument("CPF deve ter 11 dígitos")
    return _CPF_STRIP.sub("", str(raw).strip())


def normalize_cpf(raw: str | int | float) -> str:
    """Return the 11 digits of a CPF, restoring leading zeros a spreadsheet dropped.

    Raises InvalidDocument when the check digits fail or all digits are equal.
    """
    text = _cpf_text(raw)
    # ``str.isdigit`` accepts non-ASCII digits ("²", "٣") that int() then rejects.
    if not _ASCII_DIGITS.fullmatch(text) or not 1 <= len(text) <= 11:
        raise InvalidDocument("CPF deve ter 11 dígitos")
    text = text.zfill(11)
    if text == text[0] * 11:
        raise InvalidDocument("CPF inválido: todos os dígitos são iguais")
    if _cpf_digit(text[:9]) != int(text[9]) or _cpf_digit(text[:10]) != int(text[10]):
        raise InvalidDocument("CPF inválido: dígitos verificadores não conferem")
    return text


def is_valid_cpf(raw: str | int | float) -> bool:
    """True when ``raw`` normalises to a valid CPF."""
    try:
        normalize_cpf(raw)
    except InvalidDocument:
        return False
    return True


def format_cpf(cpf: str | int) -> str:
    """``11144477735`` → ``111.444.777-35`` (for the person themself only)."""
    digits = _CPF_STRIP.sub("", str(cpf)).zfill(11)
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def mask_cpf(cpf: str | int) -> str:
    """``11144477735`` → ``***.444.777-**``: the form shown to everyone else."""
    digits = _CPF_STRIP.sub("", str(cpf)).zfill(11)
    return f"***.{digits[3:6]}.{digits[6:9]}-**"


def complete_cpf(first_nine: str) -> str:
    """Append the two check digits to nine digits (test data, demo data, benchmarks)."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise InvalidDocument("CPF: informe os 9 primeiros dígitos")
    with_first = first_nine + str(_cpf_digit(first_nine))
    return with_first + str(_cpf_digit(with_first))


def _cnpj_digit(body: str) -> int:
    weights = [(i % 8) + 2 for i in range(len(body))][::-1]
    total = sum((ord(ch) - 48) * w for ch, w in zip(body, weights, strict=True))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def normalize_cnpj(raw: str) -> str:
    """Return the 14 characters of a CNPJ (digits, or letters in the first 12).

    Raises InvalidDocument when the format or the check digits fail.
    """
    text = _CNPJ_STRIP.sub("", str(raw).strip()).upper()
    if _ASCII_DIGITS.fullmatch(text) and len(text) < 14:
        text = text.zfill(14)
    if not _CNPJ_BODY.match(text):
        raise InvalidDocument("CNPJ deve ter 14 caracteres")
    if text == text[0] * 14:
        raise InvalidDocument("CNPJ inválido: todos os dígitos são iguais")
    if _cnpj_digit(text[:12]) != int(text[12]) or _cnpj_digit(text[:13]) != int(text[13]):
        raise InvalidDocument("CNPJ inválido: dígitos verificadores não conferem")
    return text


def is_valid_cnpj(raw: str) -> bool:
    """True when ``raw`` normalises to a valid CNPJ."""
    try:
        normalize_cnpj(raw)
    except InvalidDocument:
        return False
    return True


def complete_cnpj(first_twelve: str) -> str:
    """Append the two check digits to the first twelve characters of a CNPJ."""
    if len(first_twelve) != 12:
        raise InvalidDocument("CNPJ: informe os 12 primeiros caracteres")
    with_first = first_twelve + str(_cnpj_digit(first_twelve))
    return with_first + str(_cnpj_digit(with_first))


def format_cnpj(cnpj: str) -> str:
    """``11222333000181`` → ``11.222.333/0001-81``."""
    cnpj = _CNPJ_STRIP.sub("", cnpj).upper()
    return f"{cnpj[:2]}.{cnpj[2:5]}.{cnpj[5:8]}/{cnpj[8:12]}-{cnpj[12:]}"

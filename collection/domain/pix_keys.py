"""Pix keys (chaves Pix) as the DICT knows them: CPF, CNPJ, e-mail, phone, random (EVP)."""

from __future__ import annotations

import re

from collection.domain.documents import is_valid_cnpj, is_valid_cpf

_EVP = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PHONE = re.compile(r"^\+55[1-9][0-9]{9,10}$")
_EMAIL = re.compile(r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")


def normalise_pix_key(text: str) -> str | None:
    """The key as the DICT stores it, or None when it is not a Pix key of any kind. CPF
    and CNPJ keys are digits only (check digits verified); a phone is +55 and digits."""
    key = text.strip()
    lowered = key.lower()
    if _EVP.match(lowered):
        return lowered
    if "@" in key:
        return lowered if len(lowered) <= 77 and _EMAIL.match(lowered) else None
    if key.startswith("+"):
        phone = "+" + re.sub(r"\D", "", key)
        return phone if _PHONE.match(phone) else None
    digits = re.sub(r"[.\-/\s]", "", key)
    if len(digits) == 11 and digits.isdigit() and is_valid_cpf(digits):
        return digits
    if len(digits) == 14 and is_valid_cnpj(digits.upper()):
        return digits.upper()
    return None

"""Pix keys as the DICT stores them (the creditor types its key at its PSP)."""

from __future__ import annotations

import pytest

from collection.domain.pix_keys import normalise_pix_key


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("111.444.777-35", "11144477735"),
        ("11.222.333/0001-81", "11222333000181"),
        ("Cobranca@Credor.com.br", "cobranca@credor.com.br"),
        ("+55 (11) 98765-4321", "+5511987654321"),
        ("2F6A3C1E-8D4B-4E7A-9C5D-1B2A3C4D5E6F", "2f6a3c1e-8d4b-4e7a-9c5d-1b2a3c4d5e6f"),
    ],
)
def test_every_kind_of_pix_key_is_stored_as_the_dict_writes_it(typed: str, stored: str) -> None:
    assert normalise_pix_key(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["111.444.777-36", "11987654321", "+1 212 555 0100", "not a key", "a@b", "", "0" * 14],
)
def test_what_is_no_pix_key_is_refused(typed: str) -> None:
    assert normalise_pix_key(typed) is None

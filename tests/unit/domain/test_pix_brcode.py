"""The Pix BR Code (EMV QRCPS-MPM) built for the local test provider."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.pix import InvalidBrCode, brcode, crc16, parse_brcode, tlv_fields

# The Banco Central's BR Code manual example (static code, random key, no amount).
MANUAL_EXAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)


def test_crc16_is_ccitt_false_with_its_standard_check_value() -> None:
    assert crc16("123456789") == "29B1"


def test_crc16_matches_the_banco_centrals_manual_example() -> None:
    assert crc16(MANUAL_EXAMPLE[:-4]) == MANUAL_EXAMPLE[-4:]


def test_a_pix_code_carries_every_required_field_in_order() -> None:
    code = brcode(
        key="123e4567-e12b-12d1-a456-426655440000",
        amount=13848,
        name="Loja Exemplo Comércio de Móveis Ltda.",
        city="São Paulo",
        txid="localpixabc123",
    )
    fields = tlv_fields(code)
    assert list(fields) == ["00", "01", "26", "52", "53", "54", "58", "59", "60", "62", "63"]
    assert fields["00"] == "01" and fields["52"] == "0000" and fields["53"] == "986"
    assert fields["54"] == "138.48" and fields["58"] == "BR"
    assert fields["59"] == "LOJA EXEMPLO COMERCIO DE"  # ASCII capitals, at most 25
    assert fields["60"] == "SAO PAULO"
    assert tlv_fields(fields["26"]) == {
        "00": "br.gov.bcb.pix",
        "01": "123e4567-e12b-12d1-a456-426655440000",
    }
    assert tlv_fields(fields["62"]) == {"05": "localpixabc123"}
    assert code[-8:-4] == "6304" and crc16(code[:-4]) == code[-4:]


@settings(deadline=None)  # a shared, busy machine: no time limit per example
@given(
    amount=st.integers(min_value=1, max_value=10**11),
    name=st.text(max_size=60),
    city=st.text(max_size=30),
    txid=st.from_regex(r"[A-Za-z0-9]{1,25}", fullmatch=True),
)
def test_every_code_reads_back_to_what_it_asks_for(
    amount: int, name: str, city: str, txid: str
) -> None:
    code = brcode(key="chave@exemplo.com.br", amount=amount, name=name, city=city, txid=txid)
    read = parse_brcode(code)
    assert (read.amount, read.txid, read.key) == (amount, txid, "chave@exemplo.com.br")
    assert 0 < len(read.name) <= 25 and 0 < len(read.city) <= 15
    assert code.isascii()


def test_a_changed_character_fails_the_crc() -> None:
    code = brcode(key="k", amount=100, name="A", city="B", txid="t1")
    tampered = code.replace("1.00", "9.00")
    with pytest.raises(InvalidBrCode, match="CRC"):
        parse_brcode(tampered)


@pytest.mark.parametrize("txid", ["", "with space", "x" * 26, "não"])
def test_a_txid_is_letters_and_digits_up_to_25(txid: str) -> None:
    with pytest.raises(InvalidBrCode):
        brcode(key="k", amount=100, name="A", city="B", txid=txid)

"""The Pix BR Code ("copia e cola"): the EMV QRCPS-MPM payload the Banco Central defines.

A payload is a run of TLV fields (two-digit id, two-digit length, value). The ones a
Pix charge with a fixed amount needs (DOMAIN.md, "Payments"):

    00 "01"  payload format       01 "12"  one-time code
    26 merchant account: 00 GUI "br.gov.bcb.pix", 01 the Pix key
    52 "0000" category            53 "986" (BRL)       54 amount, "123.45"
    58 "BR"   59 name (≤ 25)      60 city (≤ 15)       62 additional data: 05 txid
    63 CRC16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over everything before its value,
       "6304" included, as four uppercase hex digits.

Names and cities are written in plain ASCII capitals (accents removed), which every
bank app reads; the txid is letters and digits only, at most 25.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["BrCode", "InvalidBrCode", "brcode", "crc16", "parse_brcode", "tlv_fields"]

GUI = "br.gov.bcb.pix"
_TXID = re.compile(r"^[A-Za-z0-9]{1,25}$")


class InvalidBrCode(ValueError):
    """A payload that is not a well-formed Pix BR Code (or whose CRC does not match)."""


def crc16(data: str) -> str:
    """CRC16/CCITT-FALSE of ``data`` (its UTF-8 bytes) as four uppercase hex digits.

    ``crc16("123456789") == "29B1"``, the standard check value.
    """
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def _field(tag: str, value: str) -> str:
    if not 0 < len(value) <= 99:
        raise InvalidBrCode(f"field {tag} must have 1 to 99 characters")
    return f"{tag}{len(value):02d}{value}"


def _plain(text: str, limit: int) -> str:
    """ASCII capitals without accents or symbols a bank app might refuse, cut to ``limit``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9 .-]", " ", ascii_text)
    return re.sub(r"\s+", " ", cleaned).strip().upper()[:limit].strip()


def brcode(*, key: str, amount: int, name: str, city: str, txid: str) -> str:
    """The copy-and-paste payload of a one-time Pix of ``amount`` centavos to ``key``."""
    if amount <= 0:
        raise InvalidBrCode("the amount must be positive")
    if not _TXID.match(txid):
        raise InvalidBrCode("the txid must be 1 to 25 letters or digits")
    merchant = _plain(name, 25) or "RECEBEDOR"
    place = _plain(city, 15) or "SAO PAULO"
    whole, cents = divmod(amount, 100)
    body = "".join(
        (
            _field("00", "01"),
            _field("01", "12"),
            _field("26", _field("00", GUI) + _field("01", key)),
            _field("52", "0000"),
            _field("53", "986"),
            _field("54", f"{whole}.{cents:02d}"),
            _field("58", "BR"),
            _field("59", merchant),
            _field("60", place),
            _field("62", _field("05", txid)),
        )
    )
    body += "6304"
    return body + crc16(body)


def tlv_fields(payload: str) -> dict[str, str]:
    """The top-level fields of an EMV payload by id (the last one wins on a repeat)."""
    fields: dict[str, str] = {}
    at = 0
    while at < len(payload):
        head = payload[at : at + 4]
        if len(head) < 4 or not head.isdigit():
            raise InvalidBrCode(f"bad field header at position {at}")
        size = int(head[2:])
        value = payload[at + 4 : at + 4 + size]
        if len(value) != size:
            raise InvalidBrCode(f"field {head[:2]} is cut short")
        fields[head[:2]] = value
        at += 4 + size
    return fields


@dataclass(frozen=True, slots=True)
class BrCode:
    """What a Pix payload asks for."""

    key: str
    amount: int  # centavos
    name: str
    city: str
    txid: str


def parse_brcode(payload: str) -> BrCode:
    """Read a Pix payload back, checking its structure and CRC."""
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise InvalidBrCode("the payload does not end with its CRC field")
    if crc16(payload[:-4]) != payload[-4:].upper():
        raise InvalidBrCode("the CRC does not match")
    fields = tlv_fields(payload)
    if fields.get("00") != "01" or fields.get("53") != "986" or fields.get("58") != "BR":
        raise InvalidBrCode("not a BRL Pix payload")
    account = tlv_fields(fields.get("26", ""))
    if account.get("00", "").lower() != GUI or not account.get("01"):
        raise InvalidBrCode("no Pix key")
    whole, _, cents = fields.get("54", "0").partition(".")
    amount = int(whole) * 100 + int((cents + "00")[:2])
    txid = tlv_fields(fields.get("62", "")).get("05", "")
    return BrCode(account["01"], amount, fields.get("59", ""), fields.get("60", ""), txid)

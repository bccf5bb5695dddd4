"""Boleto de cobrança (FEBRABAN): the 44-digit bar code and the 47-digit linha digitável.

Bar code: bank (3) · currency "9" · general check digit (mod 11) · due-date factor (4) ·
amount in centavos (10) · free field (25, the bank's own: agreement, nosso número...).

Linha digitável, the same digits in five fields a person can type:

    1: bank, currency, free field 1-5, DV (mod 10)      2: free field 6-15, DV (mod 10)
    3: free field 16-25, DV (mod 10)                     4: the general check digit
    5: due-date factor and amount

Mod 10 weighs the digits 2, 1, 2, 1... from the right, adds the digits of each product,
and the DV is what takes the sum to the next ten (0 when it is a multiple of ten).
Mod 11 weighs 2 to 9 from the right, repeating; the DV is 11 minus the remainder, and
1 when that gives 0, 10 or 11. The due-date factor counts days from 1997-10-07; it
reached 9999 on 2025-02-21 and starts again at 1000 on 2025-02-22 (FEBRABAN).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "Boleto",
    "InvalidBoleto",
    "bar_code",
    "barcode_of_line",
    "due_factor",
    "format_line",
    "itf_bars",
    "linha_digitavel",
    "mod10",
    "mod11",
    "parse_line",
]

_BASE = date(1997, 10, 7)
_LAST_OF_FIRST_CYCLE = 9999


class InvalidBoleto(ValueError):
    """Digits that do not make a boleto (wrong length or a check digit that fails)."""


def mod10(digits: str) -> int:
    """The FEBRABAN mod-10 check digit of ``digits``."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def mod11(digits: str) -> int:
    """The FEBRABAN mod-11 general check digit of the 43 other bar-code digits."""
    total = sum(int(char) * (2 + position % 8) for position, char in enumerate(reversed(digits)))
    dv = 11 - total % 11
    return 1 if dv in (0, 10, 11) else dv


def due_factor(due: date) -> int:
    """The four-digit due-date factor of ``due`` (1000 again from 2025-02-22)."""
    days = (due - _BASE).days
    if days < 1000:
        raise InvalidBoleto("due date too early for a factor")
    if days <= _LAST_OF_FIRST_CYCLE:
        return days
    return (days - _LAST_OF_FIRST_CYCLE - 1) % 9000 + 1000


def bar_code(*, bank: str, amount: int, due: date, free_field: str) -> str:
    """The 44 digits of the bar code."""
    if len(bank) != 3 or not bank.isdigit():
        raise InvalidBoleto("the bank code has three digits")
    if len(free_field) != 25 or not free_field.isdigit():
        raise InvalidBoleto("the free field has 25 digits")
    if not 0 < amount <= 99_999_999_99:
        raise InvalidBoleto("the amount must be positive and fit ten digits")
    rest = f"{due_factor(due):04d}{amount:010d}{free_field}"
    return f"{bank}9{mod11(bank + '9' + rest)}{rest}"


def linha_digitavel(code: str) -> str:
    """The 47 digits a person types, from the 44 of the bar code."""
    if len(code) != 44 or not code.isdigit():
        raise InvalidBoleto("a bar code has 44 digits")
    free = code[19:]
    first = code[:4] + free[:5]
    second, third = free[5:15], free[15:25]
    return f"{first}{mod10(first)}{second}{mod10(second)}{third}{mod10(third)}{code[4]}{code[5:19]}"


def format_line(line: str) -> str:
    """``AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D EEEEEEEEEEEEEE``, as printed on a boleto."""
    return (
        f"{line[:5]}.{line[5:10]} {line[10:15]}.{line[15:21]} "
        f"{line[21:26]}.{line[26:32]} {line[32]} {line[33:]}"
    )


def barcode_of_line(line: str) -> str:
    """The 44 bar-code digits back from a linha digitável, every check digit verified."""
    digits = "".join(c for c in line if c.isdigit())
    if len(digits) != 47:
        raise InvalidBoleto("a linha digitável has 47 digits")
    for start, end in ((0, 9), (10, 20), (21, 31)):
        if mod10(digits[start:end]) != int(digits[end]):
            raise InvalidBoleto("a field's check digit does not match")
    free = digits[4:9] + digits[10:20] + digits[21:31]
    code = digits[:4] + digits[32] + digits[33:47] + free
    if mod11(code[:4] + code[5:]) != int(code[4]):
        raise InvalidBoleto("the general check digit does not match")
    return code


@dataclass(frozen=True, slots=True)
class Boleto:
    """What a linha digitável says."""

    bank: str
    amount: int  # centavos
    factor: int
    free_field: str


def parse_line(line: str) -> Boleto:
    """Read a linha digitável (spaces and dots allowed), checking every digit."""
    code = barcode_of_line(line)
    return Boleto(code[:3], int(code[9:19]), int(code[5:9]), code[19:])


# Interleaved 2 of 5, the bar code's symbology: each digit is five elements, two wide.
_ITF = {
    "0": "nnwwn",
    "1": "wnnnw",
    "2": "nwnnw",
    "3": "wwnnn",
    "4": "nnwnw",
    "5": "wnwnn",
    "6": "nwwnn",
    "7": "nnnww",
    "8": "wnnwn",
    "9": "nwnwn",
}


def itf_bars(code: str, *, narrow: int = 1, wide: int = 3) -> list[tuple[int, int]]:
    """The dark bars of ``code`` in Interleaved 2 of 5 as (x, width), in modules.

    Digits go in pairs: the first drawn by the bars, the second by the spaces between
    them; a start (narrow bar, space, bar, space) and a stop (wide bar, space, bar).
    """
    if len(code) % 2 or not code.isdigit():
        raise InvalidBoleto("Interleaved 2 of 5 needs an even number of digits")
    widths: list[int] = [narrow] * 4  # start: bar, space, bar, space
    for k in range(0, len(code), 2):
        bars, spaces = _ITF[code[k]], _ITF[code[k + 1]]
        for bar, space in zip(bars, spaces, strict=True):
            widths += [wide if bar == "w" else narrow, wide if space == "w" else narrow]
    widths += [wide, narrow, narrow]  # stop: bar, space, bar
    result: list[tuple[int, int]] = []
    x = 0
    for index, width in enumerate(widths):
        if index % 2 == 0:
            result.append((x, width))
        x += width
    return result

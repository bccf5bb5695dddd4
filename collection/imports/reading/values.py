"""Cell parsers: one text (or XLSX value) in, one typed value out, or ValueError.

Each parser raises ``ValueError`` with a pt-BR reason that never quotes the cell (a CPF,
a birth date, an e-mail are personal data and the error report travels).

The hot path matters (a million rows should validate in seconds), so the common shapes
take a fast path and everything else goes to the authority:

- CPF: 11 plain digits or ``000.000.000-00`` are checked here (``_cpf_digits_ok``);
  anything else, and every failure, goes to ``collection.domain.documents.normalize_cpf``,
  which owns the rule and the message. A property test keeps the two in agreement.
- Amounts: ``1234,56``, ``1.234,56``, ``1234.56`` and whole numbers are parsed here;
  anything else goes to ``collection.domain.money.parse_brl`` (same property test).
- Phones: Brazilian numbers are matched against the mobile and fixed-line patterns of
  the ``phonenumbers`` metadata itself; other shapes go through ``phonenumbers.parse``.
- Dates: ``dd/mm/aaaa`` and ISO by slicing; other shapes by a regular expression.

Choices where the issue is silent:

- Dates also accept ``d/m/aa``, ``dd.mm.aaaa``, ``dd-mm-aaaa``, ``aaaammdd``/``ddmmaaaa``
  and a time after the date (ignored). Two-digit years: a birth date is never in the
  future (``68`` → 1968, ``05`` → 2005); a due date is 20yy up to 30 years ahead, 19yy
  otherwise. Due dates outside 1950-2099 and birth dates before 1900 or after today are
  rejected as impossible. An XLSX number in a date column is an Excel serial (1900 date
  system), or ``5032024`` typed as a number.
- An XLSX number in the amount column must be whole centavos (float noise below
  1e-6 centavo is ignored): ``33.3333`` is rejected like the text ``33,3333``, not
  rounded, because money is never changed silently.
- A phone or e-mail cell holding a list (``;``, ``,`` or ``/``) keeps the first valid
  entry; only personal phone types (mobile, fixed line) are accepted.
- Text cells starting with ``=``, ``+``, ``-`` or ``@`` are rejected: stored, they would
  run as formulas in some later export. Texts are at most 255 characters (contract 64).
- The installment is ``3``, ``03``, ``3/12`` or ``3 de 12``, optionally after
  ``Parcela``/``Parc.``; a single letter is TOTVS Protheus' numbering (``A`` = 1); empty
  means 1.
- UF accepts the two letters or the state's name; CEP restores a lost leading zero.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from math import isfinite
from operator import mul
from typing import Final

import phonenumbers

from collection.domain.documents import normalize_cpf
from collection.domain.money import parse_brl
from collection.imports.reading.columns import normalize_header

__all__ = [
    "Cell",
    "cell_text",
    "is_blank",
    "parse_amount",
    "parse_birth_date",
    "parse_cpf",
    "parse_due_date",
    "parse_email",
    "parse_installment",
    "parse_optional_text",
    "parse_phone",
    "parse_state",
    "parse_text",
    "parse_zip",
]

# What a cell may hold: CSV gives str; python-calamine also numbers, dates and booleans.
Cell = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta

EMPTY: Final = "campo obrigatório vazio"
MIN_DUE_DATE: Final = dt.date(1950, 1, 1)
MAX_DUE_DATE: Final = dt.date(2099, 12, 31)
MIN_BIRTH_DATE: Final = dt.date(1900, 1, 1)
MAX_INSTALLMENT: Final = 999
MAX_TEXT: Final = 255
MAX_CONTRACT: Final = 64

_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")


def is_blank(cells: Sequence[Cell]) -> bool:
    """True when no cell of the row holds anything but spaces."""
    return not any(c != "" and (type(c) is not str or c.strip()) for c in cells)


def cell_text(value: Cell) -> str:
    """The text of a cell, with whole XLSX numbers written without ``.0``."""
    if type(value) is str:
        return value.strip()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, bool):
        return "VERDADEIRO" if value else "FALSO"
    return str(value).strip()


# -- CPF ---------------------------------------------------------------------------------

_W10 = bytes(range(10, 1, -1))  # weights of the first check digit (they sum to 54)


def _cpf_digits_ok(digits: bytes) -> bool:
    """Check digits and not-all-equal for 11 ASCII digits (each byte is digit + 48).

    The second sum reuses the first: its weights are the first's plus one on the
    first nine digits, and 2 on the tenth.
    """
    first_sum = sum(map(mul, digits, _W10)) - 48 * 54
    if first_sum * 10 % 11 % 10 != digits[9] - 48:
        return False
    second_sum = first_sum + sum(digits[:9]) - 48 * 9 + 2 * (digits[9] - 48)
    return second_sum * 10 % 11 % 10 == digits[10] - 48 and digits != digits[:1] * 11


def parse_cpf(value: Cell) -> str:
    """11 digits of a valid CPF; leading zeros lost by a spreadsheet are restored."""
    text = value.strip() if type(value) is str else cell_text(value)
    size = len(text)
    if size == 14 and text[3] == "." and text[7] == "." and text[11] == "-":
        digits = text[:3] + text[4:7] + text[8:11] + text[12:]
    elif size == 11:
        digits = text
    elif 9 <= size <= 10:
        digits = text.zfill(11)  # as normalize_cpf does: spreadsheets drop leading zeros
    else:
        digits = ""
    if digits.isdigit() and digits.isascii() and _cpf_digits_ok(digits.encode()):
        return digits
    if not text:
        raise ValueError(EMPTY)
    if sum(ch.isdigit() for ch in text) == 14:
        raise ValueError("documento com 14 dígitos (CNPJ): só são aceitos CPFs de pessoas físicas")
    return normalize_cpf(text)  # raises InvalidDocument (a ValueError) with its own reason


# -- Money -------------------------------------------------------------------------------


def _fast_brl(text: str) -> int | None:
    """Centavos for the common amount shapes, or None to let ``parse_brl`` decide."""
    if not text.isascii():
        return None
    if text.startswith(("R$", "r$")):
        text = text[2:].lstrip()
    size = len(text)
    if size > 3 and text[-3] == ",":
        whole, frac = text[:-3], text[-2:]
    elif size > 2 and text[-2] == ",":
        whole, frac = text[:-2], text[-1] + "0"
    elif text.isdigit():
        return int(text) * 100
    elif size > 3 and text[-3] == ".":
        whole, frac = text[:-3], text[-2:]
        return int(whole + frac) if whole.isdigit() and frac.isdigit() else None
    elif size > 2 and text[-2] == ".":
        whole, frac = text[:-2], text[-1] + "0"
        return int(whole + frac) if whole.isdigit() and frac.isdigit() else None
    else:
        return None
    if not frac.isdigit():
        return None
    if whole.isdigit():
        return int(whole + frac)
    # Thousands dots are allowed only every three digits from the right.
    digits = whole.replace(".", "")
    if (
        digits.isdigit()
        and whole.count(".") == (len(digits) - 1) // 3
        and not whole[-4::-4].strip(".")
    ):
        return int(digits + frac)
    return None


def parse_amount(value: Cell) -> int:
    """A positive amount in centavos, from pt-BR or ISO text or an XLSX number."""
    if type(value) is str:
        text = value.strip()
        cents = _fast_brl(text)
        if cents is None:
            if not text:
                raise ValueError(EMPTY)
            cents = parse_brl(text)  # raises InvalidAmount (a ValueError)
    elif isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
        raise ValueError("valor não numérico")
    else:
        scaled = value * 100
        cents = round(scaled)
        if abs(scaled - cents) > 1e-6 * max(1.0, abs(scaled)):
            raise ValueError("valor com mais de duas casas decimais")
    if cents < 0:
        raise ValueError("valor negativo")
    if cents == 0:
        raise ValueError("valor deve ser maior que zero")
    return cents


# -- Dates -------------------------------------------------------------------------------

_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"  # a time after the date is ignored
_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})" + _TIME)
_YMD = re.compile(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})" + _TIME)
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 is 1900-01-01 (Lotus' leap-year bug kept)


def _make_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError("data inexistente") from None


def _parse_date(value: Cell, century_cut: int) -> dt.date:
    """A calendar date; two-digit years up to ``century_cut`` are 20yy, the rest 19yy."""
    if type(value) is str:
        text = value.strip()
        if len(text) == 10 and text.isascii():
            if text[2] == "/" and text[5] == "/":
                d, m, y = text[:2], text[3:5], text[6:]
                if d.isdigit() and m.isdigit() and y.isdigit():
                    return _make_date(int(y), int(m), int(d))
            elif text[4] == "-" and text[7] == "-":
                y, m, d = text[:4], text[5:7], text[8:]
                if d.isdigit() and m.isdigit() and y.isdigit():
                    return _make_date(int(y), int(m), int(d))
        if not text:
            raise ValueError(EMPTY)
        if len(text) == 8 and text.isascii() and text.isdigit():
            return _date_from_digits(text)
        match = _DMY.fullmatch(text) if text.isascii() else None
        if match:
            day, month, year = (int(g) for g in match.groups())
            if len(match.group(3)) == 2:
                year += 2000 if year <= century_cut else 1900
            return _make_date(year, month, day)
        match = _YMD.fullmatch(text) if text.isascii() else None
        if match:
            year, month, day = (int(g) for g in match.groups())
            return _make_date(year, month, day)
        raise ValueError("data em formato não reconhecido (use dd/mm/aaaa)")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _date_from_number(value)
    raise ValueError("data em formato não reconhecido (use dd/mm/aaaa)")


def _date_from_digits(text: str) -> dt.date:
    """``20240305`` (aaaammdd) or ``05032024`` (ddmmaaaa); they never both fit."""
    if 1900 <= int(text[:4]) <= 2100 and 1 <= int(text[4:6]) <= 12:
        return _make_date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return _make_date(int(text[4:]), int(text[2:4]), int(text[:2]))


def _date_from_number(value: float) -> dt.date:
    """An XLSX number in a date column: an Excel serial, or ``5032024`` typed as a number."""
    if not isfinite(value):
        raise ValueError("data em formato não reconhecido (use dd/mm/aaaa)")
    number = int(value)  # a serial with a fraction carries a time of day: keep the day
    if 1_000_000 <= number <= 99_999_999:
        return _date_from_digits(f"{number:08d}")
    if 1 <= number <= 2_958_465:
        return _EXCEL_EPOCH + dt.timedelta(days=number)
    raise ValueError("data em formato não reconhecido (use dd/mm/aaaa)")


def parse_due_date(value: Cell, today: dt.date) -> dt.date:
    """A due date between 1950 and 2099."""
    due = _parse_date(value, today.year % 100 + 30)
    if not MIN_DUE_DATE <= due <= MAX_DUE_DATE:
        raise ValueError("data de vencimento fora do intervalo aceito (1950 a 2099)")
    return due


def parse_birth_date(value: Cell, today: dt.date) -> dt.date:
    """A birth date from 1900 up to today."""
    born = _parse_date(value, today.year % 100)
    if born > today:
        raise ValueError("data de nascimento no futuro")
    if born < MIN_BIRTH_DATE:
        raise ValueError("data de nascimento anterior a 1900")
    return born


# -- Contacts ----------------------------------------------------------------------------

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_LIST_SEPARATORS = re.compile(r"\s*[;,/]\s*")  # never bare spaces: "ma ria@x" is no list
_PHONE_SEPARATORS = re.compile(r"[;,/]")


def parse_email(value: Cell) -> str | None:
    """An e-mail address (domain lower-cased), the first valid one of a list, or None."""
    text = value.strip() if type(value) is str else cell_text(value)
    if not text:
        return None
    match = _EMAIL.fullmatch(text)
    if match is None and _LIST_SEPARATORS.search(text):
        for part in _LIST_SEPARATORS.split(text):
            match = _EMAIL.fullmatch(part)
            if match:
                text = part
                break
    if match is None or len(text) > 254:
        raise ValueError("e-mail inválido; descartado (a linha foi aceita sem ele)")
    return text[: match.start(1)] + match.group(1).lower()


def _br_pattern(kind: str) -> re.Pattern[str]:
    """A national-number pattern of Brazil from phonenumbers' own metadata."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("BR")
    description = getattr(metadata, kind, None)
    pattern = getattr(description, "national_number_pattern", None)
    if not isinstance(pattern, str):  # pragma: no cover - the metadata ships with BR
        raise RuntimeError(f"phonenumbers has no {kind} pattern for BR")
    return re.compile(pattern)


_BR_MOBILE = _br_pattern("mobile")
_BR_FIXED = _br_pattern("fixed_line")
_PERSONAL_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)
_PHONE_PUNCTUATION = str.maketrans("", "", " ()-.")


def _fast_br_phone(text: str) -> str | None:
    """E.164 for the usual Brazilian shapes, or None to let ``phonenumbers`` decide."""
    international = text.startswith("+")
    digits = (text[1:] if international else text).translate(_PHONE_PUNCTUATION)
    if not (digits.isascii() and digits.isdigit()):
        return None  # letters, extensions, a "+" elsewhere: phonenumbers decides
    size = len(digits)
    if international:
        if not digits.startswith("55"):
            return None
        national = digits[2:]
    elif size in (12, 13) and digits.startswith("55"):
        national = digits[2:]
    elif size in (11, 12) and digits.startswith("0"):
        national = digits[1:]
    else:
        national = digits
    if len(national) == 11 and _BR_MOBILE.fullmatch(national):
        return "+55" + national
    if len(national) == 10 and _BR_FIXED.fullmatch(national):
        return "+55" + national
    return None


def _one_phone(text: str) -> str | None:
    fast = _fast_br_phone(text)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(text, "BR")
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _PERSONAL_TYPES:
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return None


def parse_phone(value: Cell) -> str | None:
    """A personal phone number in E.164 (Brazil by default), the first valid of a list."""
    text = cell_text(value)
    if not text:
        return None
    phone = _one_phone(text)
    if phone is None and _PHONE_SEPARATORS.search(text):
        for part in _PHONE_SEPARATORS.split(text):
            phone = _one_phone(part.strip()) if part.strip() else None
            if phone:
                break
    if phone is None:
        raise ValueError("telefone inválido; descartado (a linha foi aceita sem ele)")
    return phone


# -- Other fields ------------------------------------------------------------------------


_INSTALLMENT_WORDS = re.compile(r"^(?:parcela|parc\.?|p\.?)\s*", re.IGNORECASE)


def parse_installment(value: Cell) -> int:
    """The installment number; empty is 1.

    ``3``, ``03``, ``003``, ``3/12`` and ``3 de 12`` (third of twelve), with or without a
    leading ``Parcela``/``Parc.`` (``Parcela 1/3``, as billing systems print it), and the
    single letters TOTVS Protheus numbers installments with (``A`` is 1, ``B`` is 2, …).
    """
    if type(value) is str and 0 < len(value) <= 3 and value.isdigit() and value.isascii():
        number = int(value)
        if number:
            return number
    text = cell_text(value)
    if not text:
        return 1
    if len(text) == 1 and "A" <= text.upper() <= "Z":
        return ord(text.upper()) - ord("A") + 1
    text = _INSTALLMENT_WORDS.sub("", text)
    if "/" in text:
        text = text.split("/", 1)[0].strip()
    elif " de " in text:
        text = text.split(" de ", 1)[0].strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_INSTALLMENT:
        return int(text)
    raise ValueError(f"número da parcela inválido (use um inteiro de 1 a {MAX_INSTALLMENT})")


def _formula(first: str) -> ValueError:
    return ValueError(
        f"conteúdo começa com {first!r} e parece uma fórmula de planilha; "
        "não é aceito por segurança"
    )


def parse_text(value: Cell, limit: int = MAX_TEXT) -> str:
    """Trimmed text, blanks and control characters collapsed; formula-looking text refused.

    A cell starting with ``=``, ``+``, ``-`` or ``@`` would run as a formula when some
    later export is opened in a spreadsheet, so it is rejected at the door.
    """
    text = value.strip() if type(value) is str else cell_text(value)
    if "  " in text or not text.isprintable():
        # Line breaks, tabs, NBSP and control characters (a NUL would break the
        # database's COPY) become single spaces.
        text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if text and text[0] in _FORMULA_START:
        raise _formula(text[0])
    if len(text) > limit:
        raise ValueError(f"texto longo demais (máximo de {limit} caracteres)")
    return text


def parse_optional_text(value: Cell, limit: int = MAX_TEXT) -> str | None:
    """Like ``parse_text``, but empty, ``-`` and ``--`` mean absent."""
    text = value.strip() if type(value) is str else cell_text(value)
    if not text or (text[0] == "-" and not text.strip("-")):
        return None
    return parse_text(text, limit)


_STATE_NAMES = {
    "acre": "AC",
    "alagoas": "AL",
    "amapa": "AP",
    "amazonas": "AM",
    "bahia": "BA",
    "ceara": "CE",
    "distritofederal": "DF",
    "espiritosanto": "ES",
    "goias": "GO",
    "maranhao": "MA",
    "matogrosso": "MT",
    "matogrossosul": "MS",
    "minasgerais": "MG",
    "para": "PA",
    "paraiba": "PB",
    "parana": "PR",
    "pernambuco": "PE",
    "piaui": "PI",
    "riojaneiro": "RJ",
    "riograndenorte": "RN",
    "riograndesul": "RS",
    "rondonia": "RO",
    "roraima": "RR",
    "santacatarina": "SC",
    "saopaulo": "SP",
    "sergipe": "SE",
    "tocantins": "TO",
}
_UF = frozenset(_STATE_NAMES.values())


def parse_state(value: Cell) -> str | None:
    """The two-letter UF, from ``SP``, ``sp`` or ``São Paulo``."""
    text = cell_text(value)
    if not text:
        return None
    if text.upper() in _UF:
        return text.upper()
    uf = _STATE_NAMES.get(normalize_header(text))
    if uf is None:
        raise ValueError("UF desconhecida; descartada (a linha foi aceita sem ela)")
    return uf


def parse_zip(value: Cell) -> str | None:
    """The 8 digits of a CEP; a leading zero dropped by a spreadsheet is restored."""
    text = cell_text(value)
    if not text:
        return None
    digits = text.replace("-", "").replace(".", "").replace(" ", "")
    if digits.isascii() and digits.isdigit() and len(digits) in (7, 8) and int(digits):
        return digits.zfill(8)
    raise ValueError("CEP inválido; descartado (a linha foi aceita sem ele)")

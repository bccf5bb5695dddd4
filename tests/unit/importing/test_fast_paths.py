"""The fast paths of the cell parsers agree with the authorities they shortcut."""

from __future__ import annotations

import phonenumbers
from hypothesis import example, given, settings
from hypothesis import strategies as st

from collection.domain.documents import InvalidDocument, is_valid_cpf, normalize_cpf
from collection.domain.money import InvalidAmount, parse_brl
from collection.imports.reading.ledger import Conflict, ContractLedger
from collection.imports.reading.values import (
    _cpf_digits_ok,
    _fast_br_phone,
    _fast_brl,
    parse_amount,
    parse_cpf,
)
from tests.unit.importing.helpers import make_cpf

amount_texts = st.text(alphabet="0123456789.,R$ -", max_size=14)


@settings(max_examples=3000)
@given(amount_texts)
@example("1.234,56")
@example("1.23,45")
@example("0.123,45")
@example(".123,45")
@example("1.234")
@example("1234.")
@example("12.345.678,9")
def test_fast_amount_parsing_agrees_with_parse_brl(text):
    fast = _fast_brl(text.strip())
    if fast is None:
        return
    assert fast == parse_brl(text)


@settings(max_examples=2000)
@given(amount_texts)
def test_parse_amount_accepts_exactly_the_positive_amounts_parse_brl_reads(text):
    try:
        expected = parse_brl(text)
    except InvalidAmount:
        expected = None
    try:
        got = parse_amount(text)
    except ValueError:
        got = None
    assert got == (expected if expected is not None and expected > 0 else None)


@settings(max_examples=3000)
@given(st.integers(min_value=0, max_value=99_999_999_999))
def test_fast_cpf_check_agrees_with_the_domain(number):
    digits = f"{number:011d}"
    assert _cpf_digits_ok(digits.encode()) == is_valid_cpf(digits)


@settings(max_examples=1000)
@given(st.integers(min_value=0, max_value=999_999_999))
def test_every_valid_cpf_passes_the_fast_check(base):
    cpf = make_cpf(base)
    assert _cpf_digits_ok(cpf.encode()) == is_valid_cpf(cpf)


@settings(max_examples=1000)
@given(st.text(alphabet="0123456789.-/ ", max_size=16))
def test_parse_cpf_agrees_with_normalize_cpf(text):
    try:
        expected = normalize_cpf(text)
    except InvalidDocument:
        expected = None
    try:
        got = parse_cpf(text)
    except ValueError:
        got = None
    if expected is None:
        assert got is None
    else:
        assert got == expected


phone_texts = st.builds(
    lambda prefix, digits, style: style(prefix + digits),
    st.sampled_from(["", "55", "+55", "0", "+1", "055"]),
    st.text(alphabet="0123456789", min_size=8, max_size=11),
    st.sampled_from(
        [
            lambda s: s,
            lambda s: f"({s[:2]}) {s[2:7]}-{s[7:]}",
            lambda s: " ".join(s[i : i + 3] for i in range(0, len(s), 3)),
        ]
    ),
)


@settings(max_examples=3000)
@given(phone_texts)
@example("(11) 91234-5678")
@example("5511912345678")
@example("55 91234-5678")
@example("011 91234-5678")
def test_fast_phone_parsing_agrees_with_phonenumbers(text):
    fast = _fast_br_phone(text)
    if fast is None:
        return
    number = phonenumbers.parse(text, "BR")
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == fast


def test_the_ledger_keeps_its_records_while_it_grows():
    ledger = ContractLedger(capacity=4)
    cpfs = [make_cpf(base) for base in range(1, 3001)]
    for line, cpf in enumerate(cpfs, start=2):
        assert ledger.check(f"C{line}", cpf, 1, line) is None
    assert len(ledger) == 3000
    assert ledger.check("C2", cpfs[1], 2, 9000) == (Conflict.OTHER_CPF, 2)
    assert ledger.check("C500", cpfs[498], 1, 9001) == (Conflict.REPEATED_INSTALLMENT, 500)
    assert ledger.check("C500", cpfs[498], 2, 9002) is None

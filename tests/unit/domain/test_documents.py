import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from validate_docbr import CNPJ, CPF

from collection.domain.documents import (
    InvalidDocument,
    complete_cnpj,
    complete_cpf,
    format_cnpj,
    format_cpf,
    is_valid_cnpj,
    is_valid_cpf,
    mask_cpf,
    normalize_cnpj,
    normalize_cpf,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=11)


def test_example_cpf_is_valid_and_normalised() -> None:
    assert normalize_cpf("111.444.777-35") == "11144477735"
    assert is_valid_cpf(11144477735)


@settings(max_examples=200)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_cpf_check_digits_agree_with_validate_docbr(base: str) -> None:
    ours = [s for s in (f"{n:02d}" for n in range(100)) if is_valid_cpf(base + s)]
    theirs = [s for s in (f"{n:02d}" for n in range(100)) if CPF().validate(base + s)]
    assert ours == theirs
    assert len(ours) <= 1


@settings(max_examples=300)
@given(digits)
def test_cpf_validity_agrees_with_validate_docbr_on_any_digits(text: str) -> None:
    assert is_valid_cpf(text) == CPF().validate(text)


@settings(max_examples=100)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_cpf_that_lost_its_leading_zeros_is_restored(tail: str) -> None:
    base = "00" + tail[2:]
    assume(base != "0" * 9)
    valid = next(base + f"{n:02d}" for n in range(100) if is_valid_cpf(base + f"{n:02d}"))
    assert normalize_cpf(valid.lstrip("0")) == valid
    assert normalize_cpf(int(valid)) == valid
    assert normalize_cpf(float(int(valid))) == valid


@pytest.mark.parametrize("digit", "0123456789")
def test_cpf_with_all_digits_equal_is_rejected(digit: str) -> None:
    with pytest.raises(InvalidDocument):
        normalize_cpf(digit * 11)


@pytest.mark.parametrize(
    "raw", ["", "abc", "111.444.777-36", "123456789012", "1114447773²", -11144477735, 1.5, True]
)
def test_cpf_rejects_malformed_input(raw: object) -> None:
    assert not is_valid_cpf(raw)  # type: ignore[arg-type]


def test_cpf_is_masked_to_its_middle_digits() -> None:
    assert mask_cpf("11144477735") == "***.444.777-**"
    assert mask_cpf("111.444.777-35") == "***.444.777-**"
    assert format_cpf("11144477735") == "111.444.777-35"
    assert format_cpf(1144477735) == "011.444.777-35"


cnpj_body = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=12, max_size=12)


@settings(max_examples=200)
@given(st.one_of(cnpj_body, st.text(alphabet="0123456789", min_size=12, max_size=12)))
def test_cnpj_check_digits_agree_with_validate_docbr(base: str) -> None:
    for n in range(100):
        candidate = f"{base}{n:02d}"
        assert is_valid_cnpj(candidate) == CNPJ().validate(candidate), candidate


@pytest.mark.parametrize(
    "cnpj", ["11.222.333/0001-81", "11222333000181", "12.ABC.345/01DE-35", "12abc34501de35"]
)
def test_known_cnpjs_are_valid_including_alphanumeric(cnpj: str) -> None:
    assert is_valid_cnpj(cnpj)


def test_cnpj_with_all_digits_equal_is_rejected() -> None:
    with pytest.raises(InvalidDocument):
        normalize_cnpj("00000000000000")


def test_cnpj_that_lost_its_leading_zeros_is_restored() -> None:
    assert normalize_cnpj("191") == "00000000000191"
    assert normalize_cnpj("0001-91") == "00000000000191"


def test_cnpj_is_formatted() -> None:
    assert format_cnpj("11222333000181") == "11.222.333/0001-81"
    assert format_cnpj("12.abc.345/01de-35") == "12.ABC.345/01DE-35"


@given(st.text(alphabet="0123456789", min_size=9, max_size=9).filter(lambda s: len(set(s)) > 1))
def test_completed_cpfs_are_valid(first_nine: str) -> None:
    assert is_valid_cpf(complete_cpf(first_nine))


@given(
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=12, max_size=12).filter(
        lambda s: len(set(s)) > 1
    )
)
def test_completed_cnpjs_are_valid(first_twelve: str) -> None:
    assert is_valid_cnpj(complete_cnpj(first_twelve))

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.business_days import (
    add_months,
    add_years,
    is_business_day,
    national_holidays,
    next_business_day,
)

any_day = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


def test_weekend_moves_to_monday() -> None:
    assert next_business_day(date(2025, 6, 7)) == date(2025, 6, 9)  # Saturday
    assert next_business_day(date(2025, 6, 8)) == date(2025, 6, 9)  # Sunday


def test_national_holidays_are_skipped() -> None:
    # Good Friday 18/04, weekend, Tiradentes 21/04 (Monday).
    assert next_business_day(date(2025, 4, 18)) == date(2025, 4, 22)
    assert not is_business_day(date(2025, 11, 20))  # Consciência Negra, national since 2024
    assert not is_business_day(date(2025, 12, 25))
    assert date(2025, 9, 7) in national_holidays(2025)


def test_business_day_stays_put() -> None:
    assert next_business_day(date(2025, 6, 10)) == date(2025, 6, 10)


@settings(max_examples=300)
@given(any_day)
def test_next_business_day_is_the_first_business_day_on_or_after(day: date) -> None:
    found = next_business_day(day)
    assert is_business_day(found)
    assert found >= day
    cursor = day
    while cursor < found:
        assert not is_business_day(cursor)
        cursor += timedelta(days=1)


def test_add_months_clamps_to_the_end_of_month() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 1, 31), 2) == date(2025, 3, 31)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2025, 3, 15), -3) == date(2024, 12, 15)


@settings(max_examples=300)
@given(any_day, st.integers(0, 150))
def test_add_months_lands_in_the_right_month(day: date, months: int) -> None:
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day <= day.day


def test_add_years_moves_29_february_to_1_march() -> None:
    assert add_years(date(2024, 2, 29), 5) == date(2029, 3, 1)
    assert add_years(date(2020, 5, 10), 5) == date(2025, 5, 10)

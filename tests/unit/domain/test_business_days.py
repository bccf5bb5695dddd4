from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.business_days import (
    MAX_BANK_SHIFT_DAYS,
    add_months,
    add_years,
    bank_holidays,
    is_bank_business_day,
    is_business_day,
    national_holidays,
    next_bank_business_day,
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


# -- the bank calendar (issue 16 item 11) ---------------------------------------------


def test_carnival_monday_and_tuesday_move_to_ash_wednesday() -> None:
    assert next_bank_business_day(date(2027, 2, 8)) == date(2027, 2, 10)
    assert next_bank_business_day(date(2027, 2, 9)) == date(2027, 2, 10)
    assert next_bank_business_day(date(2027, 2, 6)) == date(2027, 2, 10)  # the Saturday before
    assert is_business_day(date(2027, 2, 8))  # not a national holiday: legal deadlines run


def test_corpus_christi_moves_to_the_friday() -> None:
    assert next_bank_business_day(date(2027, 5, 27)) == date(2027, 5, 28)


def test_the_last_business_day_of_the_year_moves_to_january() -> None:
    # 2027-12-31 is a Friday; 1 January is a holiday, then the weekend.
    assert next_bank_business_day(date(2027, 12, 31)) == date(2028, 1, 3)


def test_christmas_eve_is_a_bank_closing_day() -> None:
    # B3's calendar (chosen for due dates: moving later never harms the debtor).
    assert next_bank_business_day(date(2027, 12, 24)) == date(2027, 12, 27)


def test_a_saturday_moves_to_monday_and_a_bank_day_stays() -> None:
    assert next_bank_business_day(date(2027, 3, 6)) == date(2027, 3, 8)
    assert next_bank_business_day(date(2027, 3, 9)) == date(2027, 3, 9)


def test_every_national_holiday_is_a_bank_holiday() -> None:
    for year in range(2020, 2036):
        assert national_holidays(year) <= bank_holidays(year)


@settings(max_examples=500)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 24)))
def test_a_moved_due_date_is_never_earlier_never_a_closing_day_and_at_most_days_later(
    day: date,
) -> None:
    moved = next_bank_business_day(day)
    assert moved >= day
    assert moved.weekday() < 5
    assert moved not in bank_holidays(moved.year)
    assert moved not in national_holidays(moved.year)
    assert (moved - day).days <= MAX_BANK_SHIFT_DAYS
    assert is_bank_business_day(moved) and is_business_day(moved)
    cursor = day
    while cursor < moved:  # it is the first one: no bank day skipped
        assert not is_bank_business_day(cursor)
        cursor += timedelta(days=1)

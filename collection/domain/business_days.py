"""Business days in Brazil: national and bank calendars, and month arithmetic.

Named ``business_days`` rather than ``calendar`` so it never shadows the standard
library module of that name. Two calendars:

- national business days: weekdays that are not national holidays (``holidays`` country
  "BR", public category). Legal deadlines counted in "dias úteis" use it (the removal of
  a listing, STJ Súmula 548), because a day without bank service is still a working day;
- bank business days: national business days on which banks also open, from the
  ``holidays`` financial calendar of B3/ANBIMA ("BVMF"): it adds Carnival Monday and
  Tuesday, Corpus Christi, Christmas Eve and the last business day of the year. Due
  dates of schedules (boleto, card, Pix) use it, and a due date on a closing day counts
  as moved to the next bank business day (Código Civil art. 132 §1). Christmas Eve is
  not a bank holiday by FEBRABAN's list, but moving a due date later never harms the
  debtor, so the stricter B3 calendar is used as it is (docs/POLICY.md).

State and municipal holidays are a matter for the contact rules, which know the
debtor's state. Holiday sets are cached per year: the offer engine asks about the same
few dates thousands of times.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

import holidays

__all__ = [
    "MAX_BANK_SHIFT_DAYS",
    "add_months",
    "add_years",
    "bank_holidays",
    "is_bank_business_day",
    "is_business_day",
    "national_holidays",
    "next_bank_business_day",
    "next_business_day",
]

# The longest a date ever moves to reach a bank business day: Carnival Saturday to Ash
# Wednesday (checked for 2000-2060 by the unit tests).
MAX_BANK_SHIFT_DAYS = 4

_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=256)
def national_holidays(year: int) -> frozenset[date]:
    """The Brazilian national holidays of ``year`` (cached; the set never changes)."""
    return frozenset(holidays.country_holidays("BR", years=year).keys())


def is_business_day(day: date) -> bool:
    """True on a weekday that is not a national holiday."""
    return day.weekday() < 5 and day not in national_holidays(day.year)


def next_business_day(day: date) -> date:
    """``day`` itself when it is a business day, else the first business day after it."""
    while not is_business_day(day):
        day += _ONE_DAY
    return day


@lru_cache(maxsize=256)
def bank_holidays(year: int) -> frozenset[date]:
    """Days of ``year`` without bank service: national holidays plus the B3/ANBIMA
    financial calendar (Carnival, Corpus Christi, Christmas Eve, last business day)."""
    financial = holidays.financial_holidays("BVMF", years=year).keys()
    return national_holidays(year) | frozenset(financial)


def is_bank_business_day(day: date) -> bool:
    """True on a weekday on which banks open (no national or bank holiday)."""
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def next_bank_business_day(day: date) -> date:
    """``day`` itself when banks open on it, else the first bank business day after it:
    where a due date on a closing day moves (Código Civil art. 132 §1)."""
    while not is_bank_business_day(day):
        day += _ONE_DAY
    return day


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (31 Jan + 1 → 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 Feb becomes 1 Mar (Código Civil art. 132 §3)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)

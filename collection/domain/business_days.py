"""Business days in Brazil: weekends and national holidays, and month arithmetic.

Named ``business_days`` rather than ``calendar`` so it never shadows the standard
library module of that name. Only national holidays count (``holidays`` country "BR", public
category), as DOMAIN.md sets for due dates; state and municipal holidays are a matter for
the contact rules, which know the debtor's state. Holiday sets are cached per year: the
offer engine asks about the same few dates thousands of times.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

import holidays

__all__ = [
    "add_months",
    "add_years",
    "is_business_day",
    "national_holidays",
    "next_business_day",
]

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

"""The home's tiles and to-do list, shaped for the template (issue 24)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from collection.reports import dashboards as reports
from collection.reports import overview as figures
from core.i18n import brl, ngettext, percent
from core.i18n import gettext as _
from portal.charts import sparkline
from portal.navigation import link_for
from tenants.roles import Permission
from tenants.services.auth import Principal


@dataclass(frozen=True, slots=True)
class Tile:
    title: str
    value: str
    comparison: str
    spark: Markup
    href: str


@dataclass(frozen=True, slots=True)
class TodoItem:
    text: str
    count: int
    href: str


def _change(trend: figures.Trend) -> str:
    change = trend.change
    if change is None:
        return ""
    sign = "+" if change > 0 else ""
    return f" ({sign}{percent(change, 1)})"


def _spark(
    values: Sequence[Any], months: Sequence[reports.Month], fmt: Callable[[Any], str], title: str
) -> Markup:
    words = ", ".join(
        f"{m.month:02d}/{m.year}: {fmt(v) if v is not None else '—'}"
        for m, v in zip(months, values, strict=True)
    )
    return Markup(sparkline(list(values), f"{title}: {words}"))  # noqa: S704 (escaped there)


def _rate(value: int | Decimal | None) -> str:
    return "—" if value is None else percent(value)


def _count(value: Any) -> str:
    return str(value)


def _money(value: Any) -> str:
    return brl(int(value))


def tiles(data: figures.Overview, today: date) -> list[Tile]:
    months = reports.parse_filter(today).months
    ahead = reports.months_between(reports.Month.of(today), reports.Month.of(today).minus(-11))
    received, rate, kept = data.received, data.recovery_rate, data.kept
    return [
        Tile(
            _("Received this month"),
            brl(int(received.current or 0)),
            _("Last month: %(value)s") % {"value": brl(int(received.previous or 0))}
            + _change(received),
            _spark(received.history, months, _money, _("Received per month")),
            "/portal/painel#recuperacao",
        ),
        Tile(
            _("Recovery rate"),
            _rate(rate.current),
            _("Last month: %(value)s") % {"value": _rate(rate.previous)},
            _spark(rate.history, months, _rate, _("Recovery rate")),
            "/portal/painel#recuperacao",
        ),
        Tile(
            _("Active agreements"),
            str(data.active_agreements),
            _("Kept this month: %(kept)s (last month: %(previous)s); broken: %(broken)s")
            % {"kept": kept.current, "previous": kept.previous, "broken": data.broken_this_month},
            _spark(kept.history, months, _count, _("Agreements kept per month")),
            "/portal/painel#acordos",
        ),
        Tile(
            _("Expected in the next 30 days"),
            brl(data.expected_next),
            ngettext(
                "%(n)s installment; received in the last 30 days: %(value)s",
                "%(n)s installments; received in the last 30 days: %(value)s",
                data.expected_installments,
            )
            % {"n": data.expected_installments, "value": brl(data.received_last_days)},
            _spark(data.expected_by_month, ahead, _money, _("Expected per month, ahead")),
            "/portal/painel#caixa",
        ),
    ]


def todo_items(todo: figures.Todo, principal: Principal) -> list[TodoItem]:
    """Only what the person may open: the menu's own link decides (portal.navigation)."""
    wanted = [
        (
            "disputes",
            todo.disputes,
            ngettext("dispute to answer", "disputes to answer", todo.disputes),
        ),
        (
            "special_offers",
            todo.special_offers,
            ngettext("special offer to approve", "special offers to approve", todo.special_offers),
        ),
        (
            "imports",
            todo.failed_imports,
            ngettext("import failed this week", "imports failed this week", todo.failed_imports),
        ),
        (
            "regua",
            todo.failed_messages,
            ngettext("message failed this week", "messages failed this week", todo.failed_messages),
        ),
    ]
    items = []
    for key, count, text in wanted:
        link = link_for(principal, key)
        if link is not None and count:
            items.append(TodoItem(text, count, link.href))
    return items


async def home_context(
    session: AsyncSession, principal: Principal, today: date, now: datetime
) -> dict[str, Any]:
    context: dict[str, Any] = {"tiles": [], "todo": [], "shows_todo": False}
    if principal.can(Permission.REPORTS_READ):
        context["tiles"] = tiles(await figures.overview(session, today), today)
    todo = await figures.todo(session, now)
    context["todo"] = todo_items(todo, principal)
    context["shows_todo"] = any(
        link_for(principal, key) is not None
        for key in ("disputes", "special_offers", "imports", "regua")
    )
    return context

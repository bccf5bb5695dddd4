"""Dashboards for creditors and agencies: charts as SVG, tables as CSV.

One table definition serves the page (formatted for people, under its chart) and its CSV
export (for spreadsheets: ``;``, UTF-8 with BOM, amounts in reais with a decimal comma,
formula-looking text neutralised). The filter form is a plain GET; with htmx it swaps
the dashboard body only.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.response import Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from collection.imports.reading.report import Amount, decimal_comma, spreadsheet_csv
from collection.reports import dashboards as reports
from collection.reports.dashboards import Month, ReportFilter, ReportFilterError
from core.i18n import brl, number, percent
from core.i18n import gettext as _
from portal.auth import (
    client_ip,
    provide_agency_session,
    provide_principal,
    provide_tenant_session,
    request_today,
    requires,
    requires_agency,
)
from portal.charts import Series, bar_chart, line_chart
from tenants.roles import Permission
from tenants.services import audit
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]

AGENCY_TABLES = ("comissoes", "contas")


# -- tables ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: str  # text | month | money | count | rate


@dataclass(frozen=True, slots=True)
class Table:
    """One dashboard table: its chart, its explanation and its rows of raw values."""

    name: str
    title: str
    explanation: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]
    chart: Markup

    def display(self) -> list[list[tuple[str, bool]]]:
        """The rows as people read them: (text, is a number) per cell."""
        return [
            [(_show(c.kind, v), c.kind != "text") for c, v in zip(self.columns, row, strict=True)]
            for row in self.rows
        ]


def _month_label(month: Month | None) -> str:
    return _("Already overdue") if month is None else f"{month.month:02d}/{month.year}"


def _show(kind: str, value: Any) -> str:
    if value is None:
        return "—"
    if kind == "month":
        return _month_label(value)
    if kind == "money":
        return brl(value)
    if kind == "rate":
        return percent(value)
    return str(value)


def _csv_cell(kind: str, value: Any) -> object:
    if kind == "month":
        return _("overdue") if value is None else value.key
    if value is None:
        return ""
    if kind == "money":
        return decimal_comma(int(value))
    if kind == "rate":
        rate = (Decimal(value) * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return Amount(str(rate).replace(".", ","))
    if kind == "count":
        return int(value)
    return str(value)


def to_csv(table: Table) -> bytes:
    """The table for spreadsheets (see the module docstring)."""
    return spreadsheet_csv(
        [c.header + (" (%)" if c.kind == "rate" else "") for c in table.columns],
        (
            [_csv_cell(c.kind, v) for c, v in zip(table.columns, row, strict=True)]
            for row in table.rows
        ),
    )


def _chart(
    kind: Callable[..., str],
    table: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[Any], str],
) -> Markup:
    # The chart module escapes every text it draws.
    svg = kind(
        f"chart-{table}", title, labels, series, fmt, empty_text=_("No data for this period.")
    )
    return Markup(svg)  # noqa: S704 (every text in it is escaped by portal.charts)


def _labels(months: Sequence[Month | None]) -> list[str]:
    return [_month_label(m) for m in months]


def _commission_table(name: str, party: str, rows: Sequence[reports.CommissionRow]) -> Table:
    months = sorted({r.month for r in rows})
    parties = sorted({r.party for r in rows})
    by = {(r.month, r.party): r.commission for r in rows}
    series = [Series(p, [by.get((m, p), 0) for m in months]) for p in parties]
    title = _("Agency commission due")
    return Table(
        name,
        title,
        _(
            "Payments received on accounts while they were with the agency (from the day "
            "of the hand-over to the day it ended), times the hand-over's commission rate, "
            "rounded half up to the centavo."
        ),
        [
            Column(_("Month"), "month"),
            Column(party, "text"),
            Column(_("Recovered"), "money"),
            Column(_("Commission due"), "money"),
        ],
        [[r.month, r.party, r.recovered, r.commission] for r in rows],
        _chart(bar_chart, name, title, _labels(months), series, brl),
    )


def _aging_names() -> dict[str, str]:
    return {
        "0-30": _("0–30 days"),
        "31-90": _("31–90 days"),
        "91-180": _("91–180 days"),
        "181-365": _("181–365 days"),
        "1-5y": _("1–5 years"),
        "prescribed": _("Over 5 years (prescribed)"),
    }


async def _recovery_table(session: AsyncSession, report: ReportFilter, today: date) -> Table:
    rows = await reports.recovery(session, report)
    labels = _labels(report.months)
    return Table(
        "recuperacao",
        _("Recovered amount and recovery rate"),
        _(
            "Recovered: payments that succeeded in the month (refunded or charged-back "
            "payments do not count). Recovery rate: everything recovered up to the end "
            "of the month divided by the original amount of the debts placed by then."
        ),
        [
            Column(_("Month"), "month"),
            Column(_("Recovered"), "money"),
            Column(_("Recovered to date"), "money"),
            Column(_("Placed to date"), "money"),
            Column(_("Recovery rate"), "rate"),
        ],
        [[r.month, r.recovered, r.recovered_to_date, r.placed_to_date, r.rate] for r in rows],
        _chart(
            bar_chart,
            "recuperacao",
            _("Recovered per month"),
            labels,
            [Series(_("Recovered"), [r.recovered for r in rows])],
            brl,
        )
        + _chart(
            line_chart,
            "recuperacao-taxa",
            _("Recovery rate"),
            labels,
            [Series(_("Recovery rate"), [r.rate for r in rows])],
            percent,
        ),
    )


async def _delinquency_table(session: AsyncSession, report: ReportFilter, today: date) -> Table:
    rows = await reports.delinquency(session, report, today)
    return Table(
        "inadimplencia",
        _("Delinquency rate"),
        _(
            "At the end of each month (for the current month, today): the original "
            "amount of debts already due and not settled, divided by everything placed "
            "by then. The history of each debt's status is not stored, so a debt counts "
            "as unsettled by its status today (open or in an agreement)."
        ),
        [
            Column(_("Month"), "month"),
            Column(_("Overdue and unsettled"), "money"),
            Column(_("Placed to date"), "money"),
            Column(_("Delinquency rate"), "rate"),
        ],
        [[r.month, r.overdue, r.placed, r.rate] for r in rows],
        _chart(
            line_chart,
            "inadimplencia",
            _("Delinquency rate"),
            _labels(report.months),
            [Series(_("Delinquency rate"), [r.rate for r in rows])],
            percent,
        ),
    )


async def _agreements_table(session: AsyncSession, report: ReportFilter, today: date) -> Table:
    rows = await reports.agreements(session, report)
    return Table(
        "acordos",
        _("Agreements made, kept and broken"),
        _("Made: accepted in the month. Kept: paid off in the month. Broken: broken in the month."),
        [
            Column(_("Month"), "month"),
            Column(_("Agreements made"), "count"),
            Column(_("Amount agreed"), "money"),
            Column(_("Agreements kept"), "count"),
            Column(_("Agreements broken"), "count"),
        ],
        [[r.month, r.made, r.made_total, r.kept, r.broken] for r in rows],
        _chart(
            bar_chart,
            "acordos",
            _("Agreements per month"),
            _labels(report.months),
            [
                Series(_("Agreements made"), [r.made for r in rows]),
                Series(_("Agreements kept"), [r.kept for r in rows]),
                Series(_("Agreements broken"), [r.broken for r in rows]),
            ],
            number,
        ),
    )


async def _aging_table(session: AsyncSession, report: ReportFilter, today: date) -> Table:
    rows = await reports.aging(session, report.portfolio_id, today)
    names = [_aging_names()[r.bucket] for r in rows]
    return Table(
        "aging",
        _("Aging of open debts"),
        _(
            "Open debts today by days past their due date. Debts more than 5 years past "
            "due are prescribed and get no active collection. The period filter does not apply."
        ),
        [
            Column(_("Days past due"), "text"),
            Column(_("Debts"), "count"),
            Column(_("Original amount"), "money"),
        ],
        [[name, r.debts, r.amount] for name, r in zip(names, rows, strict=True)],
        _chart(
            bar_chart,
            "aging",
            _("Open debts by age"),
            names,
            [Series(_("Original amount"), [r.amount for r in rows])],
            brl,
        ),
    )


async def _cash_table(session: AsyncSession, report: ReportFilter, today: date) -> Table:
    rows = await reports.expected_cash(session, report.portfolio_id, today)
    return Table(
        "caixa",
        _("Expected cash from active agreements"),
        _(
            "Installments of agreements still running, not yet paid, by due month (this "
            "month and the next 11); the first row is what is already overdue. The "
            "period filter does not apply."
        ),
        [
            Column(_("Due month"), "month"),
            Column(_("Installments"), "count"),
            Column(_("Expected amount"), "money"),
        ],
        [[r.month, r.installments, r.amount] for r in rows],
        _chart(
            bar_chart,
            "caixa",
            _("Expected cash by month"),
            _labels([r.month for r in rows]),
            [Series(_("Expected amount"), [r.amount for r in rows])],
            brl,
        ),
    )


async def _commission_due_table(session: AsyncSession, report: ReportFilter, today: date) -> Table:
    return _commission_table(
        "comissoes", _("Agency"), await reports.commission_due(session, report)
    )


TableBuilder = Callable[[AsyncSession, ReportFilter, date], Awaitable[Table]]
TENANT_TABLES: dict[str, TableBuilder] = {
    "recuperacao": _recovery_table,
    "inadimplencia": _delinquency_table,
    "acordos": _agreements_table,
    "aging": _aging_table,
    "caixa": _cash_table,
    "comissoes": _commission_due_table,
}


async def tenant_tables(session: AsyncSession, report: ReportFilter, today: date) -> list[Table]:
    """Every table of the creditor's dashboard, for ``report``."""
    return [await build(session, report, today) for build in TENANT_TABLES.values()]


async def agency_tables(
    session: AsyncSession, agency_id: uuid.UUID, report: ReportFilter
) -> list[Table]:
    """Every table of an agency's dashboard (accounts of the tenants that grant it)."""
    months = report.months
    labels = _labels(months)
    commission = await reports.agency_commission(session, agency_id, report)
    accounts = await reports.agency_accounts(session, agency_id, report)
    recovered = reports.recovered_by_month(commission, months)
    table = _commission_table("comissoes", _("Creditor"), commission)
    table = dataclasses.replace(
        table,
        chart=_chart(
            bar_chart,
            "agencia-recuperado",
            _("Recovered on the agency's accounts"),
            labels,
            [Series(_("Recovered"), recovered)],
            brl,
        )
        + table.chart,
    )
    return [
        table,
        Table(
            "contas",
            _("Accounts handed over and closed"),
            _(
                "Accounts placed with the agency in the month, and hand-overs that ended in "
                "the month: closed (nothing left to collect) or recalled by the creditor."
            ),
            [
                Column(_("Month"), "month"),
                Column(_("Accounts handed over"), "count"),
                Column(_("Accounts closed"), "count"),
                Column(_("Accounts recalled"), "count"),
            ],
            [[r.month, r.handed_over, r.closed, r.recalled] for r in accounts],
            _chart(
                bar_chart,
                "contas",
                _("Accounts per month"),
                labels,
                [
                    Series(_("Accounts handed over"), [r.handed_over for r in accounts]),
                    Series(_("Accounts closed"), [r.closed for r in accounts]),
                    Series(_("Accounts recalled"), [r.recalled for r in accounts]),
                ],
                number,
            ),
        ),
    ]


# -- controller -------------------------------------------------------------------------------


def _query(de: str, ate: str, portfolio: str = "") -> str:
    pairs = [("de", de), ("ate", ate)] + ([("portfolio", portfolio)] if portfolio else [])
    return urlencode([(k, v) for k, v in pairs if v])


def _csv_response(table: Table, report: ReportFilter) -> Response[bytes]:
    filename = f"{table.name}-{report.first.key}-{report.last.key}.csv"
    return Response(
        to_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


class DashboardsController(Controller):
    path = "/portal/painel"
    dependencies = {"principal": Provide(provide_principal)}

    def _page(
        self,
        request: AnyRequest,
        template: str,
        context: dict[str, Any],
        status_code: int = 200,
    ) -> Template:
        # One view serves the page and, for htmx, the dashboard body alone. An htmx
        # request with a bad filter gets the body with the error (htmx swaps no 4xx).
        if request.headers.get("hx-request"):
            return Template("portal/_dashboard_body.html", context=context)
        return Template(template, context=context, status_code=status_code)

    @get(
        "/",
        name="portal.dashboard",
        guards=[requires(Permission.REPORTS_READ)],
        dependencies={"session": Provide(provide_tenant_session)},
    )
    async def tenant(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        de: FromQuery[str] = "",
        ate: FromQuery[str] = "",
        portfolio: FromQuery[str] = "",
    ) -> Template:
        today = request_today(request)
        context: dict[str, Any] = {
            "principal": principal,
            "portfolios": await reports.portfolios(session),
            "form": {"de": de, "ate": ate, "portfolio": portfolio},
            "action": "/portal/painel",
            "title": _("Dashboards"),
            "tables": [],
            "error": None,
        }
        try:
            report = reports.parse_filter(today, de=de, ate=ate, portfolio=portfolio)
            await reports.check_portfolio(session, report)
        except ReportFilterError as exc:
            context["error"] = exc
            return self._page(request, "portal/dashboard.html", context, 400)
        context["form"] = {
            "de": report.first.key,
            "ate": report.last.key,
            "portfolio": portfolio.strip(),
        }
        context["tables"] = await tenant_tables(session, report, today)
        context["query"] = _query(report.first.key, report.last.key, portfolio.strip())
        context["csv_base"] = "/portal/painel"
        return self._page(request, "portal/dashboard.html", context)

    @get(
        [f"/{name}.csv" for name in TENANT_TABLES],
        name="portal.dashboard.csv",
        guards=[requires(Permission.REPORTS_READ)],
        dependencies={"session": Provide(provide_tenant_session)},
    )
    async def tenant_csv(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        de: FromQuery[str] = "",
        ate: FromQuery[str] = "",
        portfolio: FromQuery[str] = "",
    ) -> Response[Any]:
        today = request_today(request)
        name = request.url.path.rsplit("/", 1)[-1].removesuffix(".csv")
        try:
            report = reports.parse_filter(today, de=de, ate=ate, portfolio=portfolio)
            await reports.check_portfolio(session, report)
        except ReportFilterError as exc:
            return Response(f"{exc.field}: {exc.message}", status_code=400, media_type="text/plain")
        table = await TENANT_TABLES[name](session, report, today)
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "dashboard.exported",
            target=name,
            details={
                "from": report.first.key,
                "to": report.last.key,
                "portfolio": str(report.portfolio_id or ""),
            },
        )
        await session.commit()
        return _csv_response(table, report)

    @get(
        "/agencia",
        name="portal.dashboard.agency",
        guards=[requires_agency(Permission.AGENCY_REPORTS)],
        dependencies={"session": Provide(provide_agency_session)},
    )
    async def agency(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        de: FromQuery[str] = "",
        ate: FromQuery[str] = "",
    ) -> Template:
        assert principal.agency is not None
        context: dict[str, Any] = {
            "principal": principal,
            "portfolios": [],
            "form": {"de": de, "ate": ate, "portfolio": ""},
            "action": "/portal/painel/agencia",
            "title": _("Agency dashboard: %(name)s") % {"name": principal.agency.name},
            "tables": [],
            "error": None,
        }
        try:
            report = reports.parse_filter(request_today(request), de=de, ate=ate)
        except ReportFilterError as exc:
            context["error"] = exc
            return self._page(request, "portal/dashboard.html", context, 400)
        context["form"] = {"de": report.first.key, "ate": report.last.key, "portfolio": ""}
        context["tables"] = await agency_tables(session, principal.agency.agency_id, report)
        context["query"] = _query(report.first.key, report.last.key)
        context["csv_base"] = "/portal/painel/agencia"
        return self._page(request, "portal/dashboard.html", context)

    @get(
        [f"/agencia/{name}.csv" for name in AGENCY_TABLES],
        name="portal.dashboard.agency.csv",
        guards=[requires_agency(Permission.AGENCY_REPORTS)],
        dependencies={"session": Provide(provide_agency_session)},
    )
    async def agency_csv(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        de: FromQuery[str] = "",
        ate: FromQuery[str] = "",
    ) -> Response[Any]:
        assert principal.agency is not None
        name = request.url.path.rsplit("/", 1)[-1].removesuffix(".csv")
        try:
            report = reports.parse_filter(request_today(request), de=de, ate=ate)
        except ReportFilterError as exc:
            return Response(f"{exc.field}: {exc.message}", status_code=400, media_type="text/plain")
        agency_id = principal.agency.agency_id
        table = next(t for t in await agency_tables(session, agency_id, report) if t.name == name)
        # An agency export spans creditors: it is logged without a tenant.
        actor = dataclasses.replace(principal.actor(client_ip(request)), tenant_id=None)
        audit.record(
            session,
            actor,
            "dashboard.agency_exported",
            target=name,
            details={"agency": str(agency_id), "from": report.first.key, "to": report.last.key},
        )
        await session.commit()
        return _csv_response(table, report)

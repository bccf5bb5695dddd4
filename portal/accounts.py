"""Accounts: the tenant's debtors and debts (list with htmx search, detail pages)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts import search as account_search
from collection.accounts import service as accounts
from collection.accounts.timeline import account_timeline
from collection.domain.documents import mask_cpf
from collection.negotiation import policy_versions
from collection.payments.service import payoff_of
from collection.privacy import rights as privacy
from collection.regua import whatsapp
from collection.reports import audit_log as audit_view
from core.clock import local_today
from portal.auth import provide_principal, provide_tenant_session, requires
from tenants.roles import Permission
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]


def _works_for_agency(principal: Principal) -> bool:
    return principal.tenant is not None and principal.tenant.agency_id is not None


def _filter(principal: Principal, *values: str) -> account_search.AccountFilter:
    """The search's filter from the query string; agency staff have no agency filter
    (their session already shows only their agency's accounts)."""
    q, status, age, portfolio, agency, sort, direction = values
    return account_search.AccountFilter.from_params(
        q=q,
        status=status,
        age=age,
        portfolio=portfolio,
        agency="" if _works_for_agency(principal) else agency,
        sort=sort,
        direction=direction,
    )


class AccountsController(Controller):
    path = "/portal"
    guards = [requires(Permission.ACCOUNTS_READ)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    @get("/debtors", name="portal.debtors")
    async def debtors(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        q: FromQuery[str] = "",
        situacao: FromQuery[str] = "",
        atraso: FromQuery[str] = "",
        carteira: FromQuery[str] = "",
        assessoria: FromQuery[str] = "",
        ordem: FromQuery[str] = "",
        sentido: FromQuery[str] = "",
        page: FromQuery[int] = 1,
    ) -> Template:
        chosen = _filter(principal, q, situacao, atraso, carteira, assessoria, ordem, sentido)
        today = local_today(request.app.state.clock)
        result = await account_search.search_accounts(session, chosen, today, page=page)
        context = {
            "principal": principal,
            "page": result,
            "chosen": chosen,
            "q": chosen.query,
            "statuses": account_search.status_choices(),
            "ages": account_search.age_choices(),
            "portfolios": await account_search.portfolio_choices(session),
            "agencies": []
            if _works_for_agency(principal)
            else await account_search.agency_choices(session),
        }
        # One view serves the page and, for htmx, the table alone.
        name = (
            "portal/_debtor_table.html"
            if request.headers.get("hx-request")
            else "portal/debtors.html"
        )
        return Template(name, context=context)

    @get("/debtors/exportar", name="portal.debtors_export")
    async def debtors_export(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        q: FromQuery[str] = "",
        situacao: FromQuery[str] = "",
        atraso: FromQuery[str] = "",
        carteira: FromQuery[str] = "",
        assessoria: FromQuery[str] = "",
        ordem: FromQuery[str] = "",
        sentido: FromQuery[str] = "",
    ) -> Response[bytes]:
        chosen = _filter(principal, q, situacao, atraso, carteira, assessoria, ordem, sentido)
        today = local_today(request.app.state.clock)
        body = await account_search.export_accounts(session, chosen, today)
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="contas-{today}.csv"'},
        )

    @get("/debtors/{debtor_id:uuid}", name="portal.debtor")
    async def debtor(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        debtor_id: FromPath[uuid.UUID],
    ) -> Template:
        try:
            debtor = await accounts.get_debtor(session, debtor_id)
        except accounts.AccountNotFound as exc:
            raise NotFoundException() from exc
        agreements = await accounts.agreements_of_debtor(session, debtor.id)
        today = local_today(request.app.state.clock)
        now = request.app.state.clock.now()
        return Template(
            "portal/debtor.html",
            context={
                # When each WhatsApp window closes (None: outside it, templates only).
                "whatsapp_windows": {c.id: whatsapp.window_closes(c, now) for c in debtor.contacts},
                "principal": principal,
                "debtor": debtor,
                "mask_cpf": mask_cpf,
                "agreements": agreements,
                "policy_numbers": await policy_versions.numbers(
                    session, [a.policy_version_id for a in agreements]
                ),
                # Early payoff today (CDC art. 52 §2), for the open ones.
                "payoffs": {a.id: payoff_of(a, today) for a in agreements},
                "timeline": await account_timeline(session, debtor.id),
            },
        )

    @get("/debts/{debt_id:uuid}", name="portal.debt")
    async def debt(
        self,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        debt_id: FromPath[uuid.UUID],
    ) -> Template:
        try:
            debt = await accounts.get_debt(session, debt_id)
        except accounts.AccountNotFound as exc:
            raise NotFoundException() from exc
        return Template(
            "portal/debt.html", context={"principal": principal, "debt": debt, "mask_cpf": mask_cpf}
        )

    @get("/privacy", name="portal.privacy")
    async def privacy_requests(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> Template:
        requests = await privacy.tenant_requests(session)
        return Template(
            "portal/privacy.html",
            context={"principal": principal, "requests": requests, "mask_cpf": mask_cpf},
        )

    @get("/audit", name="portal.audit", guards=[requires(Permission.AUDIT_READ)])
    async def audit_log(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> Template:
        events = await audit_view.audit_lines(session, limit=200)
        return Template("portal/audit.html", context={"principal": principal, "events": events})

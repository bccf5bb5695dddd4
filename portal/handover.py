"""The tenant's hand-over rules: which accounts go to which agency, at which commission."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.agency import handover
from collection.models import HandoverRule
from core.clock import Clock
from core.db import Database
from portal.auth import client_ip, provide_principal, provide_tenant_session, requires
from tenants.roles import Permission
from tenants.services import audit
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]
_NEW = handover.RuleForm(name="", agency_id="", commission_percent="")


def _form(data: dict[str, Any]) -> handover.RuleForm:
    return handover.RuleForm(
        name=str(data.get("name", "")),
        agency_id=str(data.get("agency_id", "")),
        position=str(data.get("position", "")),
        min_days_overdue=str(data.get("min_days_overdue", "")),
        min_amount=str(data.get("min_amount", "")),
        on_broken_agreement=str(data.get("on_broken_agreement", "")) == "on",
        after_regua=str(data.get("after_regua", "")) == "on",
        commission_percent=str(data.get("commission_percent", "")),
        is_active=str(data.get("is_active", "")) == "on",
    )


def _is_htmx(request: AnyRequest) -> bool:
    return bool(request.headers.get("hx-request"))


class HandoverRulesController(Controller):
    path = "/portal/repasse"
    guards = [requires(Permission.HANDOVER_EDIT)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    async def _page(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        form: handover.RuleForm = _NEW,
        rule_id: uuid.UUID | None = None,
        errors: dict[str, str] | None = None,
        counts: dict[str, int] | None = None,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "portal/handover_rules.html",
            status_code=status_code,
            context={
                "principal": principal,
                "rules": await handover.rules_of(session),
                "agencies": await handover.granted_agencies(session),
                "form": form,
                "rule_id": rule_id,
                "errors": errors or {},
                "counts": counts,
            },
        )

    async def _rule(self, session: AsyncSession, rule_id: uuid.UUID) -> HandoverRule:
        rule = await handover.get_rule(session, rule_id)
        if rule is None:
            raise NotFoundException()
        return rule

    @get("/", name="portal.handover")
    async def index(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> Template:
        return await self._page(session, principal)

    @get("/{rule_id:uuid}", name="portal.handover.rule")
    async def edit(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        rule_id: FromPath[uuid.UUID],
    ) -> Template:
        """The rule in the form: the whole page, or (htmx) the form alone."""
        rule = await self._rule(session, rule_id)
        if _is_htmx(request):
            return Template(
                "portal/_handover_rule_form.html",
                context={
                    "form": handover.form_of(rule),
                    "rule_id": rule.id,
                    "agencies": await handover.granted_agencies(session),
                    "errors": {},
                },
            )
        return await self._page(session, principal, form=handover.form_of(rule), rule_id=rule.id)

    @post("/salvar", name="portal.handover.save")
    async def save(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        data = dict(await request.form())
        form = _form(data)
        rule: HandoverRule | None = None
        if data.get("rule_id"):
            try:
                rule = await self._rule(session, uuid.UUID(str(data["rule_id"])))
            except ValueError as exc:
                raise NotFoundException() from exc
        rule_id = rule.id if rule else None
        try:
            saved = await handover.save_rule(session, rule, form)
        except handover.RuleError as exc:
            await session.rollback()
            return await self._page(
                session,
                principal,
                form=form,
                rule_id=rule_id,
                errors={exc.field: exc.message},
                status_code=400,
            )
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "handover.rule_saved",
            target=str(saved.id),
            details={
                "name": saved.name,
                "agency_id": str(saved.agency_id),
                "commission_rate": saved.commission_rate,
                "active": saved.is_active,
            },
        )
        await session.commit()
        return Redirect("/portal/repasse", status_code=303)

    @post("/{rule_id:uuid}/excluir", name="portal.handover.delete")
    async def delete(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        rule_id: FromPath[uuid.UUID],
    ) -> Redirect:
        rule = await self._rule(session, rule_id)
        name = rule.name
        await handover.delete_rule(session, rule)
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "handover.rule_deleted",
            target=str(rule_id),
            details={"name": name},
        )
        await session.commit()
        return Redirect("/portal/repasse", status_code=303)

    @post("/executar", name="portal.handover.run", status_code=200)
    async def run(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        """Run the hand-over now for this creditor only, and show what it did."""
        assert principal.tenant_id is not None
        db: Database = request.app.state.db
        clock: Clock = request.app.state.clock
        counts = await handover.hand_over(db, clock.now(), tenant_id=principal.tenant_id)
        audit.record(
            session, principal.actor(client_ip(request)), "handover.run", details=dict(counts)
        )
        await session.commit()
        if _is_htmx(request):
            return Template("portal/_handover_run.html", context={"counts": counts})
        return await self._page(session, principal, counts=counts)

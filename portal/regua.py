"""The régua de cobrança in the portal: its steps and texts (with a preview of each), the
switch, and the dry run of the coming days."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.contact_rules import TEMPLATE_VARIABLES
from collection.domain.documents import format_cnpj
from collection.models import Channel, ReminderAnchor, ReminderStep
from collection.regua import service as reminders
from collection.regua import steps as regua_steps
from collection.regua.footer import address_problem, switch_on_problem
from core.clock import Clock, local_today
from core.db import Database
from portal.auth import client_ip, provide_principal, provide_tenant_session, requires
from tenants.models import Tenant
from tenants.roles import Permission
from tenants.services import audit
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]
EDIT = [requires(Permission.SETTINGS_EDIT)]


def _form(data: dict[str, Any]) -> regua_steps.StepForm:
    return regua_steps.StepForm(
        name=str(data.get("name", "")),
        anchor=str(data.get("anchor", "")),
        offset_days=str(data.get("offset_days", "")).strip(),
        channel=str(data.get("channel", "")),
        subject=str(data.get("subject", "")),
        body=str(data.get("body", "")),
        is_active=str(data.get("is_active", "")) == "on",
        whatsapp_template=str(data.get("whatsapp_template", "")).strip(),
        template_variables=str(data.get("template_variables", "")).strip(),
    )


def _form_of(step: ReminderStep) -> regua_steps.StepForm:
    return regua_steps.StepForm(
        name=step.name,
        anchor=step.anchor.value,
        offset_days=str(step.offset_days),
        channel=step.channel.value,
        subject=step.subject,
        body=step.body,
        is_active=step.is_active,
        whatsapp_template=step.whatsapp_template,
        template_variables=step.template_variables,
    )


class ReguaController(Controller):
    path = "/portal/regua"
    guards = [requires(Permission.ACCOUNTS_READ)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    async def _index(
        self,
        session: AsyncSession,
        principal: Principal,
        errors: dict[str, str] | None = None,
        address: str | None = None,
    ) -> Template:
        tenant = await session.get_one(Tenant, principal.tenant_id)
        return Template(
            "portal/regua.html",
            status_code=400 if errors else 200,
            context={
                "principal": principal,
                "tenant": tenant,
                "address": tenant.address if address is None else address,
                "cnpj": format_cnpj(tenant.cnpj),
                "errors": errors or {},
                "steps": await regua_steps.steps_of(session),
                "can_edit": principal.can(Permission.SETTINGS_EDIT),
            },
        )

    @get("/", name="portal.regua")
    async def index(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> Template:
        return await self._index(session, principal)

    @post("/endereco", name="portal.regua.address", guards=EDIT)
    async def address(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        """The creditor's address, named in every message (CDC art. 42-A)."""
        form = await request.form()
        address = " ".join(str(form.get("address", "")).split())
        problem = address_problem(address)
        if problem:
            return await self._index(session, principal, {"address": problem}, address)
        tenant = await session.get_one(Tenant, principal.tenant_id)
        tenant.address = address
        audit.record(session, principal.actor(client_ip(request)), "tenant.address_changed")
        await session.commit()
        return Redirect("/portal/regua")

    @post("/ligar", name="portal.regua.switch", guards=EDIT)
    async def switch(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        form = await request.form()
        tenant = await session.get_one(Tenant, principal.tenant_id)
        enable = str(form.get("enabled", "")) == "on"
        problem = switch_on_problem(tenant) if enable else ""
        if problem:
            return await self._index(session, principal, {"switch": problem})
        tenant.reminders_enabled = enable
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "regua.switched",
            details={"enabled": tenant.reminders_enabled},
        )
        await session.commit()
        return Redirect("/portal/regua")

    async def _step_page(
        self,
        session: AsyncSession,
        principal: Principal,
        request: AnyRequest,
        step_id: uuid.UUID | None,
        form: regua_steps.StepForm,
        errors: dict[str, str],
    ) -> Template:
        tenant = await session.get_one(Tenant, principal.tenant_id)
        sample = None
        if "body" not in errors and "subject" not in errors and form.body.strip():
            sample = regua_steps.sample_of(tenant, form, request.app.state.settings.base_url)
        return Template(
            "portal/regua_step.html",
            status_code=400 if errors else 200,
            context={
                "principal": principal,
                "step_id": step_id,
                "form": form,
                "errors": errors,
                "sample": sample,
                "anchors": [a.value for a in ReminderAnchor],
                "channels": [c.value for c in Channel],
                "variables": TEMPLATE_VARIABLES,
                "can_edit": principal.can(Permission.SETTINGS_EDIT),
            },
        )

    @get("/novo", name="portal.regua.new", guards=EDIT)
    async def new(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        form = regua_steps.StepForm("", "debt_due", "5", "email", "", "", True)
        return await self._step_page(session, principal, request, None, form, {})

    @get("/{step_id:uuid}", name="portal.regua.step")
    async def step(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        step_id: FromPath[uuid.UUID],
    ) -> Template:
        found = await session.scalar(select(ReminderStep).where(ReminderStep.id == step_id))
        if found is None:
            raise NotFoundException()
        return await self._step_page(session, principal, request, step_id, _form_of(found), {})

    @post("/salvar", name="portal.regua.save", guards=EDIT)
    async def save(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        data = dict(await request.form())
        form = _form(data)
        step_id = None
        step = None
        if data.get("step_id"):
            try:
                step_id = uuid.UUID(str(data["step_id"]))
            except ValueError as exc:
                raise NotFoundException() from exc
            step = await session.scalar(select(ReminderStep).where(ReminderStep.id == step_id))
            if step is None:
                raise NotFoundException()
        errors = regua_steps.check_step(form)
        if errors or data.get("action") == "preview":
            return await self._step_page(session, principal, request, step_id, form, errors)
        saved = await regua_steps.save_step(session, step, form)
        await session.flush()
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "regua.step_saved",
            target=str(saved.id),
            details={"name": saved.name, "channel": saved.channel.value},
        )
        await session.commit()
        return Redirect("/portal/regua")

    @post("/{step_id:uuid}/excluir", name="portal.regua.delete", guards=EDIT)
    async def delete(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        step_id: FromPath[uuid.UUID],
    ) -> Redirect:
        step = await session.scalar(select(ReminderStep).where(ReminderStep.id == step_id))
        if step is None:
            raise NotFoundException()
        await session.delete(step)
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "regua.step_deleted",
            target=str(step_id),
            details={"name": step.name},
        )
        await session.commit()
        return Redirect("/portal/regua")

    @get("/previa", name="portal.regua.preview")
    async def preview(
        self,
        request: AnyRequest,
        principal: NamedDependency[Principal],
        dias: FromQuery[int] = 14,
    ) -> Template:
        """What the régua would send, and block (and why), in the coming days."""
        assert principal.tenant is not None
        db: Database = request.app.state.db
        clock: Clock = request.app.state.clock
        days = max(1, min(dias, 31))
        lines = await reminders.preview(
            db,
            principal.tenant.tenant_id,
            local_today(clock),
            days,
            clock.now(),
            agency_id=principal.tenant.agency_id,
        )
        blocked: dict[str, int] = {}
        for line in lines:
            if line.status == "blocked":
                blocked[line.rule] = blocked.get(line.rule, 0) + 1
        return Template(
            "portal/regua_preview.html",
            context={
                "principal": principal,
                "lines": lines,
                "days": days,
                "planned": sum(1 for line in lines if line.status == "planned"),
                "blocked": blocked,
            },
        )

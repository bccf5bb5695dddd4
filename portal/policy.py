"""The negotiation policy editor in the portal: the policy as a form, the simulator of its
offers beside it, publishing a new version, and the versions kept.

Only who may edit the policy (creditor owners and admins) reaches any of it. Every form
works as a plain POST (adding or removing a band, simulating, publishing); with htmx the
simulator redraws as the draft is typed. A draft is checked only by the one reader of
policy files, and publishing saves nothing unless the whole policy is valid.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.errors import PolicyError
from collection.domain.policy import NegotiationPolicy
from collection.domain.policy_file import load_policy_toml
from collection.negotiation import policy_form, policy_simulator, policy_versions
from core.clock import Clock, local_today
from core.i18n import gettext as _
from core.security import mask_email
from portal.auth import client_ip, provide_principal, provide_tenant_session, requires
from tenants.roles import Permission
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]
BASE = "/portal/politica"


def _clock(request: AnyRequest) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _draft(form: policy_form.PolicyForm) -> tuple[NegotiationPolicy | None, dict[str, str]]:
    """The draft read as a policy file, or the error naming its field."""
    try:
        return load_policy_toml(policy_form.to_toml(form)), {}
    except PolicyError as exc:
        return None, {exc.field: exc.message}


def _by_label(label: str) -> str:
    return mask_email(label) if "@" in label else label


class PolicyController(Controller):
    path = BASE
    guards = [requires(Permission.POLICY_EDIT)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    async def _page(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        form: policy_form.PolicyForm,
        *,
        errors: dict[str, str] | None = None,
        simulate: bool = True,
        status_code: int = 200,
        published: str = "",
    ) -> Template:
        assert principal.tenant_id is not None  # the tenant session guarantees it
        current = await policy_versions.current(session, principal.tenant_id)
        errors = errors or {}
        results = None
        if simulate:
            draft, draft_errors = _draft(form) if not errors else (None, errors)
            errors = errors or draft_errors
            today = local_today(_clock(request))
            samples = await policy_simulator.sample_debts(session, principal.tenant_id, today)
            results = policy_simulator.simulate(samples, current.policy, draft, today)
        return Template(
            "portal/policy.html",
            status_code=status_code,
            context={
                "principal": principal,
                "form": form,
                "errors": errors,
                "labels": policy_form.field_labels(),
                "label_of": policy_form.label_of,
                "current": current,
                "versions": await policy_versions.versions(session, principal.tenant_id),
                "results": results,
                "published": published,
                "by_label": _by_label,
                "max_bands": policy_form.MAX_BANDS,
            },
        )

    @get("/", name="portal.policy")
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        de: FromQuery[int | None] = None,
        publicada: FromQuery[str] = "",
    ) -> Template:
        """The editor, filled with the policy in force (or with version ``de``)."""
        assert principal.tenant_id is not None
        if de is not None:
            try:
                found = await policy_versions.version(session, principal.tenant_id, de)
            except LookupError as exc:
                raise NotFoundException() from exc
            policy = load_policy_toml(found.toml)
        else:
            policy = (await policy_versions.current(session, principal.tenant_id)).policy
        return await self._page(
            request, session, principal, policy_form.form_of(policy), published=publicada[:10]
        )

    @post("/", name="portal.policy.save")
    async def save(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        """Add or remove a band, simulate, or publish the draft as the next version."""
        assert principal.tenant_id is not None
        data = {k: str(v) for k, v in (await request.form()).items()}
        form = policy_form.form_from_data(data)
        action = data.get("action", "simulate")
        if action == "add":
            return await self._page(request, session, principal, policy_form.add_band(form))
        if action.startswith("remove:") and action[7:].isdigit():
            changed = policy_form.remove_band(form, int(action[7:]))
            return await self._page(request, session, principal, changed)
        if action != "publish":
            return await self._page(request, session, principal, form)
        try:
            published = await policy_versions.publish(
                session,
                principal.tenant_id,
                policy_form.to_toml(form),
                principal.actor(client_ip(request)),
                source="portal",
            )
            await session.commit()
        except PolicyError as exc:
            return await self._page(
                request,
                session,
                principal,
                form,
                errors={exc.field: exc.message},
                status_code=400,
            )
        except IntegrityError:
            # Someone published the same number a moment before: nothing of this was kept.
            await session.rollback()
            message = _("Another version was published a moment ago. Review and publish again.")
            return await self._page(
                request, session, principal, form, errors={"arquivo": message}, status_code=409
            )
        return Redirect(f"{BASE}?publicada={published.number}", status_code=303)

    @post("/simular", name="portal.policy.simulate")
    async def simulate(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        """The simulator alone (htmx), for the draft as typed; nothing is saved."""
        assert principal.tenant_id is not None
        data = {k: str(v) for k, v in (await request.form()).items()}
        form = policy_form.form_from_data(data)
        if not request.headers.get("hx-request"):
            return await self._page(request, session, principal, form)
        draft, errors = _draft(form)
        current = await policy_versions.current(session, principal.tenant_id)
        today = local_today(_clock(request))
        samples = await policy_simulator.sample_debts(session, principal.tenant_id, today)
        return Template(
            "portal/_policy_simulation.html",
            context={
                "results": policy_simulator.simulate(samples, current.policy, draft, today),
                "errors": errors,
                "label_of": policy_form.label_of,
            },
        )

    @get("/versoes/{number:int}", name="portal.policy.version")
    async def show_version(
        self,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        number: FromPath[int],
    ) -> Template:
        """One published version as its file, with who published it and when."""
        assert principal.tenant_id is not None
        try:
            found = await policy_versions.version(session, principal.tenant_id, number)
        except LookupError as exc:
            raise NotFoundException() from exc
        return Template(
            "portal/policy_version.html",
            context={"principal": principal, "v": found, "by_label": _by_label},
        )

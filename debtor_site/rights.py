"""Contesting a debt and reporting a contact that is not the person's."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from collection.debtor.access import DebtorAccess, Person
from collection.debtor.disputes import (
    ATTACHMENT_MAX_BYTES,
    KINDS,
    Attachment,
    DisputeError,
    debt_of_person,
    open_dispute,
    report_not_mine,
)
from collection.models import ContactKind
from collection.privacy import rights as privacy
from core.i18n import gettext as _
from debtor_site.lookup import NO_STORE, PERSON, client_ip

AnyRequest = Request[Any, Any, Any]
# The dispute form may carry one document: its cap plus the form's other fields (the
# same allowance as quita.bodies.MULTIPART_ALLOWANCE); every other route keeps 64 kB.
DISPUTE_BODY_LIMIT = ATTACHMENT_MAX_BYTES + 8 * 1024


async def _attachment(form: Any) -> Attachment | None:
    """The file sent in the dispute form's ``document`` field, if one was chosen."""
    upload = form.get("document")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(ATTACHMENT_MAX_BYTES + 1)
    return Attachment(upload.filename, data) if data else None


class RightsController(Controller):
    path = "/"
    dependencies = PERSON
    cache_control = NO_STORE

    @get("/contestar/{debt_id:uuid}", name="site.dispute_page")
    async def dispute_page(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        debt_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        debt = await debt_of_person(access.db, person.cpf_hash, debt_id, tenants=person.tenants)
        if debt is None:
            raise NotFoundException()
        return Template("site/dispute.html", context={"debt": debt, "kinds": KINDS, "errors": {}})

    @post(
        "/contestar/{debt_id:uuid}", name="site.dispute", request_max_body_size=DISPUTE_BODY_LIMIT
    )
    async def dispute(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        debt_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            dispute = await open_dispute(
                access.db,
                person.cpf_hash,
                debt_id,
                str(form.get("kind", "")),
                str(form.get("text", "")),
                ip=client_ip(request),
                tenants=person.tenants,
                now=access.clock.now(),
                attachment=await _attachment(form),
            )
        except LookupError as exc:
            raise NotFoundException() from exc
        except DisputeError as exc:
            debt = await debt_of_person(access.db, person.cpf_hash, debt_id, tenants=person.tenants)
            if debt is None:  # not the person's (or not proven): no form to show again
                raise NotFoundException() from exc
            return Template(
                "site/dispute.html",
                status_code=400,
                context={
                    "debt": debt,
                    "kinds": KINDS,
                    "errors": {exc.field: exc.message},
                    "kind": str(form.get("kind", "")),
                    "text": str(form.get("text", ""))[:1000],
                },
            )
        return Redirect(f"/contestacoes/{dispute.id}?nova=1")

    @post("/direitos/parar", name="site.stop_channel")
    async def stop(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
    ) -> Redirect:
        form = await request.form()
        try:
            kind = ContactKind(str(form.get("channel", "")))
        except ValueError:
            return Redirect("/minhas-dividas")
        await privacy.stop_channel(
            access.db, person.cpf_hash, kind, access.clock.now(), tenants=person.tenants
        )
        return Redirect("/minhas-dividas?parado=1")

    @get("/direitos/contato", name="site.contact_page")
    async def contact_page(self, person: NamedDependency[Person]) -> Template:
        """The contact form on a page of its own (where a refused contact comes back)."""
        return Template("site/contact.html", context={"errors": {}})

    @post("/direitos/contato", name="site.add_contact")
    async def add_contact(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
    ) -> Redirect | Template:
        form = await request.form()
        typed_kind = str(form.get("kind", ""))[:10]
        typed = str(form.get("value", ""))[:254]
        errors: dict[str, str] = {}
        try:
            kind = ContactKind(typed_kind)
        except ValueError:
            errors["kind"] = _("Choose e-mail or phone.")
        else:
            try:
                await privacy.add_contact(
                    access.db,
                    person.cpf_hash,
                    kind,
                    typed,
                    access.clock.now(),
                    tenants=person.tenants,
                )
            except privacy.ContactRefused as exc:
                errors["value"] = exc.message
        if errors:
            # The same page, with what was typed and the error beside the field.
            return Template(
                "site/contact.html",
                status_code=400,
                context={"errors": errors, "kind": typed_kind, "value": typed},
            )
        return Redirect("/minhas-dividas?contato-novo=1")

    @get("/direitos/copia", name="site.data_copy")
    async def data_copy(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
    ) -> Response[bytes] | Redirect:
        data = await privacy.copy_of_data(
            access.db, person.cpf_hash, access.clock.now(), tenants=person.tenants
        )
        return Response(
            json.dumps(data, ensure_ascii=False, indent=2).encode(),
            media_type="application/json; charset=utf-8",
            headers={
                "content-disposition": 'attachment; filename="meus-dados-quita.json"',
                "cache-control": "no-store",
            },
        )

    @post("/contatos/{contact_id:uuid}/nao-e-meu", name="site.not_mine")
    async def not_mine(
        self,
        request: AnyRequest,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        contact_id: FromPath[uuid.UUID],
    ) -> Redirect:
        try:
            await report_not_mine(
                access.db,
                person.cpf_hash,
                contact_id,
                now=access.clock.now(),
                ip=client_ip(request),
                tenants=person.tenants,
            )
        except LookupError as exc:
            raise NotFoundException() from exc
        return Redirect("/minhas-dividas?contato=1")

"""The person's papers on the site: a receipt for each confirmed payment and the
declaração de quitação of a settled agreement, each as a page and a PDF (issue 25
item 7). The agreement's terms are on its own page (``debtor_site.agreements``)."""

from __future__ import annotations

import uuid

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response, Template

from collection.debtor.access import DebtorAccess, Person
from collection.paperwork.papers import quitacao_of_person, receipt_of_person
from collection.paperwork.receipts_pdf import quitacao_pdf, quitacao_text, receipt_pdf
from debtor_site.lookup import NO_STORE, PERSON


def _pdf(content: bytes, filename: str) -> Response[bytes]:
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


class PaperworkController(Controller):
    path = "/acordos/{agreement_id:uuid}"
    dependencies = PERSON
    cache_control = NO_STORE

    @get("/recibos/{payment_id:uuid}", name="site.receipt")
    async def receipt(
        self,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
        payment_id: FromPath[uuid.UUID],
    ) -> Template:
        found = await receipt_of_person(
            access.db, person.cpf_hash, agreement_id, payment_id, tenants=person.tenants
        )
        if found is None:
            raise NotFoundException()
        return Template(
            "site/receipt.html",
            context={"receipt": found, "agreement_id": agreement_id, "payment_id": payment_id},
        )

    @get("/recibos/{payment_id:uuid}/recibo.pdf", name="site.receipt_pdf")
    async def receipt_file(
        self,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
        payment_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        found = await receipt_of_person(
            access.db, person.cpf_hash, agreement_id, payment_id, tenants=person.tenants
        )
        if found is None:
            raise NotFoundException()
        return _pdf(receipt_pdf(found), "recibo.pdf")

    @get("/quitacao", name="site.quitacao")
    async def quitacao(
        self,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
    ) -> Template:
        found = await quitacao_of_person(
            access.db, person.cpf_hash, agreement_id, tenants=person.tenants
        )
        if found is None:
            raise NotFoundException()
        return Template(
            "site/quitacao.html",
            context={
                "quitacao": found,
                "declaration": quitacao_text(found),
                "agreement_id": agreement_id,
            },
        )

    @get("/quitacao.pdf", name="site.quitacao_pdf")
    async def quitacao_file(
        self,
        person: NamedDependency[Person],
        access: NamedDependency[DebtorAccess],
        agreement_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        found = await quitacao_of_person(
            access.db, person.cpf_hash, agreement_id, tenants=person.tenants
        )
        if found is None:
            raise NotFoundException()
        return _pdf(quitacao_pdf(found), "declaracao-de-quitacao.pdf")

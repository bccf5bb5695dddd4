"""What every collection message ends with: the creditor's identification (CDC art.
42-A: name, CNPJ and address) and the person's one-click way to stop the channel.

An e-mail carries the whole identification; a text (SMS, WhatsApp) carries the name and
CNPJ and a link to the creditor's public page, which shows the address, so the message
stays short. A creditor without a registered address cannot switch the régua on, and
nothing is sent in its name while the address is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from collection.domain.documents import format_cnpj
from collection.models import Channel
from core.db import Database, Scope
from core.i18n import gettext as _
from tenants.models import Tenant

CREDITOR_PAGE = "credor/"
MIN_ADDRESS = 10  # "Rua X, 1" is not an address a person can write to


def creditor_page(base_url: str, tenant: Tenant) -> str:
    """The public page that identifies the creditor (name, CNPJ, address)."""
    return base_url.rstrip("/") + "/" + CREDITOR_PAGE + tenant.slug


def footer_of(tenant: Tenant, channel: Channel, link: str, stop_url: str) -> str:
    """The creditor's identification and the signed link that stops this channel of this
    creditor in one click. ``link`` is the site's address (ending in "/")."""
    who = f"{tenant.legal_name}, CNPJ {format_cnpj(tenant.cnpj)}"
    if channel == Channel.EMAIL:
        who += f", {tenant.address.strip()}"
    else:
        who += f". Endereço e dados do credor: {link}{CREDITOR_PAGE}{tenant.slug}"
    return who + f". Para não receber mais mensagens por este canal: {stop_url}"


def address_problem(address: str) -> str:
    """Why this cannot be the creditor's address (pt-BR); "" when it can."""
    if len(address.strip()) < MIN_ADDRESS:
        return _(
            "Register the creditor's full address (street, number, city and state): "
            "the Consumer Code (CDC art. 42-A) requires the creditor's name, CNPJ and "
            "address in every collection message."
        )
    if len(address.strip()) > 300:
        return _("Use at most 300 characters for the address.")
    return ""


def switch_on_problem(tenant: Tenant) -> str:
    """Why the régua cannot be switched on (pt-BR); "" when it can."""
    if address_problem(tenant.address):
        return _(
            "The reminder schedule cannot be switched on without the creditor's address: "
            "the Consumer Code (CDC art. 42-A) requires the creditor's name, CNPJ and "
            "address in every collection message. Register the address below first."
        )
    return ""


@dataclass(frozen=True, slots=True)
class CreditorIdentity:
    """What the creditor's public page shows: who is collecting, and where to write."""

    name: str
    legal_name: str
    cnpj: str  # formatted
    address: str


async def creditor_identity(db: Database, slug: str) -> CreditorIdentity | None:
    """The public identification of an active creditor, by the slug in its messages."""
    async with db.session(Scope.system()) as session:
        tenant = await session.scalar(
            select(Tenant).where(Tenant.slug == slug, Tenant.is_active.is_(True))
        )
        if tenant is None:
            return None
        return CreditorIdentity(
            tenant.name, tenant.legal_name, format_cnpj(tenant.cnpj), tenant.address
        )

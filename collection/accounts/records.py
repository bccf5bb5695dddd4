"""The use cases of the creditor REST API: debts written one at a time, portfolio files
through the same import jobs as the portal, reads with filters and keyset pagination,
and the tenant's negotiation policy as TOML.

Every function works in the caller's tenant-scoped session. Values are checked with
the importer's own cell parsers (``collection.imports.reading.values``), so a debt written
through the API obeys the same rules as one read from a file. Like an import, a write
never touches a debt that is in an agreement, paid or written off.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.debtor.page import DEFAULT_POLICY
from collection.domain.documents import InvalidDocument, normalize_cpf
from collection.domain.errors import PolicyError
from collection.imports.jobs import ImportJobs, store_upload
from collection.imports.loader import lock_tenant_writes
from collection.imports.reading.values import (
    parse_birth_date,
    parse_cpf,
    parse_due_date,
    parse_email,
    parse_optional_text,
    parse_phone,
    parse_state,
    parse_text,
    parse_zip,
)
from collection.models import (
    Agreement,
    AgreementDebt,
    Channel,
    Contact,
    ContactKind,
    Debt,
    DebtItem,
    Debtor,
    DebtStatus,
    ImportJob,
    Message,
    MessageStatus,
    Payment,
    PaymentStatus,
    Portfolio,
)
from collection.negotiation import policy_versions
from collection.regua.disowned import disowned_at
from core.errors import Refusal
from core.i18n import gettext as _
from core.pagination import (
    MAX_PAGE,
    Changes,
    InvalidInput,
    Page,
    decode_cursor,
    encode_cursor,
    page_of,
)
from core.security import keyed_hash
from tenants.models import Tenant
from tenants.services.audit import Actor

DEFAULT_PORTFOLIO = "Carteira principal"


class Conflict(Refusal):
    """The request is valid but contradicts what is stored (``field`` says where)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(LookupError):
    """No such object in the current tenant."""


def cpf_hash_of(cpf_hash_key: str, cpf: str, field: str = "cpf") -> str:
    """The keyed hash a debtor is found by, from a CPF typed with or without dots."""
    try:
        return keyed_hash(cpf_hash_key, normalize_cpf(cpf))
    except InvalidDocument as exc:
        raise InvalidInput({field: str(exc)}) from None


# -- reads --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DebtFilter:
    status: DebtStatus | None = None
    cpf_hash: str | None = None
    contract: str | None = None
    portfolio: str | None = None
    created_since: datetime | None = None
    changes: Changes | None = None  # updated_since: change order (api_pages)


def _debts() -> Select[Debt]:
    return select(Debt).options(
        selectinload(Debt.debtor), selectinload(Debt.items), selectinload(Debt.portfolio)
    )


async def list_debts(
    session: AsyncSession, where: DebtFilter, *, cursor: str | None, limit: int
) -> Page[Debt]:
    """The tenant's debts, oldest first, filtered."""
    statement = _debts()
    if where.status is not None:
        statement = statement.where(Debt.status == where.status)
    if where.contract:
        statement = statement.where(Debt.contract == where.contract)
    if where.created_since is not None:
        statement = statement.where(Debt.created_at >= where.created_since)
    if where.cpf_hash:
        statement = statement.where(
            Debt.debtor_id.in_(select(Debtor.id).where(Debtor.cpf_hash == where.cpf_hash))
        )
    if where.portfolio:
        statement = statement.where(
            Debt.portfolio_id.in_(select(Portfolio.id).where(Portfolio.name == where.portfolio))
        )
    return await page_of(session, statement, Debt, cursor, limit, where.changes)


async def get_debt(session: AsyncSession, debt_id: uuid.UUID) -> Debt:
    """One debt of the tenant with its debtor and installments; NotFound otherwise."""
    debt = await session.scalar(_debts().where(Debt.id == debt_id))
    if debt is None:
        raise NotFound(debt_id)
    return debt


@dataclass(frozen=True, slots=True)
class AgreementFilter:
    status: str | None = None
    cpf_hash: str | None = None
    debt_id: uuid.UUID | None = None
    created_since: datetime | None = None
    changes: Changes | None = None  # updated_since: change order (api_pages)


def _agreements() -> Select[Agreement]:
    return select(Agreement).options(selectinload(Agreement.installments))


async def list_agreements(
    session: AsyncSession, where: AgreementFilter, *, cursor: str | None, limit: int
) -> Page[Agreement]:
    """The tenant's agreements, oldest first, filtered."""
    statement = _agreements()
    if where.status:
        statement = statement.where(Agreement.status == where.status)
    if where.created_since is not None:
        statement = statement.where(Agreement.created_at >= where.created_since)
    if where.cpf_hash:
        statement = statement.where(
            Agreement.debtor_id.in_(select(Debtor.id).where(Debtor.cpf_hash == where.cpf_hash))
        )
    if where.debt_id is not None:
        statement = statement.where(
            Agreement.id.in_(
                select(AgreementDebt.agreement_id).where(AgreementDebt.debt_id == where.debt_id)
            )
        )
    return await page_of(session, statement, Agreement, cursor, limit, where.changes)


async def get_agreement(session: AsyncSession, agreement_id: uuid.UUID) -> Agreement:
    found = await session.scalar(_agreements().where(Agreement.id == agreement_id))
    if found is None:
        raise NotFound(agreement_id)
    return found


async def debts_of_agreements(
    session: AsyncSession, agreement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The debts each agreement settles."""
    found: dict[uuid.UUID, list[uuid.UUID]] = {a: [] for a in agreement_ids}
    if agreement_ids:
        rows = await session.execute(
            select(AgreementDebt.agreement_id, AgreementDebt.debt_id).where(
                AgreementDebt.agreement_id.in_(list(agreement_ids))
            )
        )
        for agreement_id, debt_id in rows.all():
            found[agreement_id].append(debt_id)
    return found


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    status: PaymentStatus | None = None
    agreement_id: uuid.UUID | None = None
    created_since: datetime | None = None
    changes: Changes | None = None  # updated_since: change order (api_pages)


async def list_payments(
    session: AsyncSession, where: PaymentFilter, *, cursor: str | None, limit: int
) -> Page[Payment]:
    """The tenant's payments (every attempt, whatever its state), oldest first."""
    statement = select(Payment)
    if where.status is not None:
        statement = statement.where(Payment.status == where.status)
    if where.agreement_id is not None:
        statement = statement.where(Payment.agreement_id == where.agreement_id)
    if where.created_since is not None:
        statement = statement.where(Payment.created_at >= where.created_since)
    return await page_of(session, statement, Payment, cursor, limit, where.changes)


@dataclass(frozen=True, slots=True)
class MessageFilter:
    status: MessageStatus | None = None
    channel: Channel | None = None
    debt_id: uuid.UUID | None = None
    cpf_hash: str | None = None
    created_since: datetime | None = None


async def list_messages(
    session: AsyncSession, where: MessageFilter, *, cursor: str | None, limit: int
) -> Page[Message]:
    """The régua's messages (planned, sent, blocked, failed), oldest first."""
    statement = select(Message)
    if where.status is not None:
        statement = statement.where(Message.status == where.status)
    if where.channel is not None:
        statement = statement.where(Message.channel == where.channel)
    if where.debt_id is not None:
        statement = statement.where(Message.debt_id == where.debt_id)
    if where.created_since is not None:
        statement = statement.where(Message.created_at >= where.created_since)
    if where.cpf_hash:
        statement = statement.where(
            Message.debtor_id.in_(select(Debtor.id).where(Debtor.cpf_hash == where.cpf_hash))
        )
    return await page_of(session, statement, Message, cursor, limit)


# -- writing debts ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DebtorData:
    cpf: str
    name: str
    birth_date: date | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None


@dataclass(frozen=True, slots=True)
class InstallmentData:
    number: int
    due_date: date
    amount: int  # centavos


@dataclass(frozen=True, slots=True)
class NewDebt:
    contract: str
    debtor: DebtorData
    installments: Sequence[InstallmentData]
    product: str | None = None
    portfolio: str | None = None


@dataclass(frozen=True, slots=True)
class DebtChanges:
    """What a PATCH may change; None leaves a value as it is."""

    product: str | None = None
    installments: Sequence[InstallmentData] | None = None
    status: DebtStatus | None = None


_SETTABLE = {DebtStatus.OPEN, DebtStatus.REGULARIZED, DebtStatus.WRITTEN_OFF}
_WRITABLE = {DebtStatus.OPEN, DebtStatus.REGULARIZED}


def is_plain_text(value: str) -> bool:
    """Text a database can store: no NUL or other C0 control but tab and newlines, and
    valid Unicode (no lone surrogates)."""
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_plain(field: str, value: str | None) -> None:
    """InvalidInput for text no database column may hold (query filters, file names)."""
    if value is not None and not is_plain_text(value):
        raise InvalidInput({field: _("Control characters are not accepted.")})


class _Checker:
    """Collects every problem of a request, so a client fixes them all in one pass."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def check(self, field: str, parse: Callable[[], Any]) -> Any:
        try:
            return parse()
        except ValueError as exc:
            self.errors[field] = str(exc)
            return None

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def _plain_fields(values: dict[str, str | None]) -> None:
    errors = {
        field: _("Control characters are not accepted.")
        for field, value in values.items()
        if value is not None and not is_plain_text(value)
    }
    if errors:
        raise InvalidInput(errors)


def _optional(checker: _Checker, field: str, value: str | None, limit: int) -> str:
    if value is None:
        return ""
    return checker.check(field, lambda: parse_optional_text(value, limit)) or ""


def _installments(
    checker: _Checker, items: Sequence[InstallmentData], today: date
) -> list[InstallmentData]:
    if not items:
        checker.fail("installments", _("List at least one overdue installment."))
    seen: set[int] = set()
    clean: list[InstallmentData] = []
    for index, item in enumerate(items):
        path = f"installments[{index}]"
        if item.number in seen:
            checker.fail(f"{path}.number", _("This installment number appears twice."))
        seen.add(item.number)
        due = checker.check(f"{path}.due_date", partial(parse_due_date, item.due_date, today))
        if item.amount <= 0:
            checker.fail(f"{path}.amount", _("The amount must be positive (centavos)."))
        if due is not None:
            clean.append(InstallmentData(item.number, due, item.amount))
    return clean


async def _portfolio(session: AsyncSession, name: str) -> Portfolio:
    found = await session.scalar(select(Portfolio).where(Portfolio.name == name))
    if found is None:
        found = Portfolio(id=uuid.uuid4(), name=name)
        session.add(found)
        await session.flush()
    return found


async def create_debt(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    data: NewDebt,
    *,
    cpf_hash_key: str,
    today: date,
) -> Debt:
    """Write one debt (and its debtor, when new) as an import of one contract would.

    Raises InvalidInput naming every bad field, Conflict when the portfolio already has
    the contract. A known debtor (same CPF) gets the new name, the address parts given
    and any new contact.
    """
    checker = _Checker()
    p = data.debtor
    _plain_fields(
        {
            "debtor.cpf": p.cpf,
            "debtor.name": p.name,
            "debtor.email": p.email,
            "debtor.phone": p.phone,
            "debtor.address": p.address,
            "debtor.city": p.city,
            "debtor.state": p.state,
            "debtor.zip_code": p.zip_code,
            "contract": data.contract,
            "product": data.product,
            "portfolio": data.portfolio,
        }
    )
    cpf = checker.check("debtor.cpf", lambda: parse_cpf(p.cpf))
    name = checker.check("debtor.name", lambda: parse_text(p.name, 200))
    if name == "":
        checker.fail("debtor.name", _("Required."))
    birth = None
    if p.birth_date is not None:
        born = p.birth_date
        birth = checker.check("debtor.birth_date", lambda: parse_birth_date(born, today))
    email = phone = state = zip_code = None
    if p.email:
        email = checker.check("debtor.email", lambda: parse_email(p.email or ""))
        if email is None:
            checker.fail("debtor.email", _("Invalid e-mail address."))
    if p.phone:
        phone = checker.check("debtor.phone", lambda: parse_phone(p.phone or ""))
        if phone is None:
            message = _("Invalid phone number (a Brazilian mobile or landline).")
            checker.fail("debtor.phone", message)
    if p.state:
        state = checker.check("debtor.state", lambda: parse_state(p.state or ""))
        if state is None:
            checker.fail("debtor.state", _("Unknown state (UF)."))
    if p.zip_code:
        zip_code = checker.check("debtor.zip_code", lambda: parse_zip(p.zip_code or ""))
        if zip_code is None:
            checker.fail("debtor.zip_code", _("Invalid CEP (8 digits)."))
    address = _optional(checker, "debtor.address", p.address, 300)
    city = _optional(checker, "debtor.city", p.city, 100)
    contract = checker.check("contract", lambda: parse_text(data.contract, 60))
    if contract == "":
        checker.fail("contract", _("Required."))
    product = _optional(checker, "product", data.product, 120)
    portfolio_name = _optional(checker, "portfolio", data.portfolio, 120) or DEFAULT_PORTFOLIO
    items = _installments(checker, data.installments, today)
    checker.done()

    await lock_tenant_writes(session, tenant_id)
    portfolio = await _portfolio(session, portfolio_name)
    taken = await session.scalar(
        select(Debt.id).where(Debt.portfolio_id == portfolio.id, Debt.contract == contract)
    )
    if taken is not None:
        raise Conflict(
            "contract", _("This portfolio already has this contract: update it instead.")
        )
    cpf_hash = keyed_hash(cpf_hash_key, cpf)
    debtor = await session.scalar(
        select(Debtor).options(selectinload(Debtor.contacts)).where(Debtor.cpf_hash == cpf_hash)
    )
    if debtor is None:
        debtor = Debtor(id=uuid.uuid4(), cpf=cpf, cpf_hash=cpf_hash, name=name, contacts=[])
        session.add(debtor)
    debtor.name = name
    if birth is not None:
        debtor.birth_date = birth
    for attribute, value in (
        ("address", address),
        ("city", city),
        ("state", state),
        ("zip_code", zip_code),
    ):
        if value:
            setattr(debtor, attribute, value)
    known = {(c.kind, c.value) for c in debtor.contacts}
    for kind, value in ((ContactKind.EMAIL, email), (ContactKind.PHONE, phone)):
        if value and (kind, value) not in known:
            disowned = await disowned_at(session, kind, value)  # never re-activated
            debtor.contacts.append(Contact(kind=kind, value=value, not_mine_at=disowned))
    debt = Debt(
        id=uuid.uuid4(),
        portfolio_id=portfolio.id,
        debtor=debtor,
        contract=contract,
        product=product,
        original_amount=sum(i.amount for i in items),
        due_date=min(i.due_date for i in items),
        status=DebtStatus.OPEN,
        items=[DebtItem(number=i.number, due_date=i.due_date, amount=i.amount) for i in items],
    )
    session.add(debt)
    await session.flush()
    return await get_debt(session, debt.id)


async def update_debt(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    debt_id: uuid.UUID,
    changes: DebtChanges,
    *,
    today: date,
) -> Debt:
    """Change a debt's product, installments or status (settled or written off outside
    Quita, or reopened). A debt in an agreement or paid through Quita is not changed:
    Conflict. NotFound for another tenant's debt."""
    _plain_fields({"product": changes.product})
    checker = _Checker()
    product = None
    if changes.product is not None:
        product = _optional(checker, "product", changes.product, 120)
    items = None
    if changes.installments is not None:
        items = _installments(checker, changes.installments, today)
    if changes.status is not None and changes.status not in _SETTABLE:
        checker.fail("status", _("Only open, regularized or written_off can be set."))
    checker.done()

    await lock_tenant_writes(session, tenant_id)
    debt = await get_debt(session, debt_id)
    if debt.status not in _WRITABLE:
        raise Conflict(
            "status",
            _("This debt is in an agreement, paid or written off: it can no longer change."),
        )
    if product is not None:
        debt.product = product
    if items is not None:
        by_number = {i.number: i for i in debt.items}
        wanted = {i.number for i in items}
        for old in list(debt.items):
            if old.number not in wanted:
                debt.items.remove(old)
        for item in items:
            current = by_number.get(item.number)
            if current is None:
                debt.items.append(
                    DebtItem(number=item.number, due_date=item.due_date, amount=item.amount)
                )
            else:
                current.due_date, current.amount = item.due_date, item.amount
        debt.original_amount = sum(i.amount for i in items)
        debt.due_date = min(i.due_date for i in items)
    if changes.status is not None:
        debt.status = changes.status
    await session.flush()
    session.expire(debt)
    return await get_debt(session, debt_id)


# -- portfolio files ----------------------------------------------------------------------


async def upload_portfolio(
    session: AsyncSession,
    jobs: ImportJobs,
    *,
    read: Callable[[int], Awaitable[bytes]],
    folder: Path,
    max_bytes: int,
    filename: str,
    portfolio: str | None,
) -> ImportJob:
    """Store a portfolio file and start the same import job the portal starts (preview
    first; ``ImportJobs.confirm`` then imports). Raises UploadRefused with the reason."""
    _plain_fields({"file": filename, "portfolio": portfolio})
    path, size, sha256 = await store_upload(read, folder, max_bytes)
    return await jobs.create(
        session,
        path=path,
        filename=filename or "carteira",
        size=size,
        sha256=sha256,
        portfolio=(portfolio or "").strip() or DEFAULT_PORTFOLIO,
        user_id=None,
    )


# -- the negotiation policy ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyText:
    toml: str
    is_default: bool


async def read_policy(session: AsyncSession, tenant_id: uuid.UUID) -> PolicyText:
    """The tenant's policy file, or the platform's default when it has none."""
    tenant = await session.get_one(Tenant, tenant_id)
    if tenant.policy_toml is None:
        return PolicyText(DEFAULT_POLICY.read_text(encoding="utf-8"), True)
    return PolicyText(tenant.policy_toml, False)


async def replace_policy(
    session: AsyncSession, tenant_id: uuid.UUID, toml: str, by: Actor
) -> PolicyText:
    """Check a policy file (docs/POLICY.md) and publish it as the tenant's next policy
    version (the portal's editor publishes through the same ``policy_versions.publish``).

    Raises InvalidInput with the path of the offending setting, as the file names it.
    """
    _plain_fields({"toml": toml})
    try:
        await policy_versions.publish(session, tenant_id, toml, by, source="api")
    except PolicyError as exc:
        raise InvalidInput({exc.field: exc.message}) from None
    return PolicyText(toml, False)


__all__ = [
    "DEFAULT_PORTFOLIO",
    "MAX_PAGE",
    "AgreementFilter",
    "Changes",
    "Conflict",
    "DebtChanges",
    "DebtFilter",
    "DebtorData",
    "InstallmentData",
    "InvalidInput",
    "MessageFilter",
    "NewDebt",
    "NotFound",
    "Page",
    "PaymentFilter",
    "PolicyText",
    "create_debt",
    "decode_cursor",
    "encode_cursor",
    "get_agreement",
    "get_debt",
    "is_plain_text",
    "list_agreements",
    "list_debts",
    "list_messages",
    "list_payments",
    "read_policy",
    "replace_policy",
    "require_plain",
    "update_debt",
    "upload_portfolio",
]

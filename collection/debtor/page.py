"""What a verified person sees: every debt of their CPF at the creditors they proved
their identity for, itemised, and each creditor's offers from its negotiation policy.
The other creditors holding debts of the CPF are listed by name only, to prove for.

The page is read in one unit of work with plain column queries, and the work that
follows the read (valuation, offers, the rendered page) is cached per person under the
*version* of what was read: the rows themselves and the date. A new import, a payment,
an agreement, a dispute, a special offer approved or accepted, or a policy change alters
the rows, a new day alters the date, and either makes a new version, so a cache can
never serve a stale page; and because every request reads the rows again, several
processes may each keep their own cache.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Hashable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    ScalarSelect,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    join,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain import valuation as v
from collection.domain.documents import format_cnpj
from collection.domain.offers import Offer, make_offers
from collection.domain.policy import NegotiationPolicy
from collection.domain.policy_file import load_policy_toml
from collection.models import (
    Agreement,
    Contact,
    ContactKind,
    Debt,
    DebtItem,
    Debtor,
    DebtorProof,
    DebtorSession,
    DebtStatus,
    Dispute,
    SpecialOffer,
    SpecialOfferStatus,
)
from core.cache import VersionedCache
from core.db import Database, Scope
from tenants.models import Tenant

DEFAULT_POLICY = Path(__file__).with_name("default_policy.toml")

# The codes of the offers for voluntary payment of prescribed debts start with this.
VOLUNTARY_PREFIX = "voluntary-"

# How many people's pages and computed views one process keeps (the most recently seen).
PAGE_CACHE_SIZE = 1000
VIEW_CACHE_SIZE = 500


@dataclass(frozen=True, slots=True)
class DebtView:
    id: uuid.UUID
    contract: str
    product: str
    due_date: date
    original_amount: int
    status: DebtStatus
    valuation: v.Valuation | None  # None for a debt that is no longer open
    disputed: bool = False
    paid: int = 0  # received against it (deducted in ``valuation``)
    to_refund: int = 0  # received beyond what it owed: the creditor gives it back

    @property
    def prescribed(self) -> bool:
        return self.valuation is not None and self.valuation.is_prescribed


@dataclass
class CreditorView:
    """One creditor's debts and offers; shared by the cache, so read it, never change it."""

    tenant_id: uuid.UUID
    name: str
    legal_name: str
    cnpj: str
    address: str
    debts: list[DebtView] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    # Whether the creditor's policy accepts voluntary payment of prescribed debts, and the
    # offers for it (on the prescribed debts only, codes prefixed VOLUNTARY_PREFIX).
    voluntary_allowed: bool = False
    voluntary_offers: list[Offer] = field(default_factory=list)

    @property
    def open_total(self) -> int:
        return sum(d.valuation.total for d in self.debts if d.valuation is not None)


class AgreementLine(NamedTuple):
    """An agreement as the debts page lists it."""

    id: uuid.UUID
    total: int
    status: str
    creditor: str


class SpecialOfferLine(NamedTuple):
    """An approved special offer as the debts page lists it (``terms``: the disclosed
    offer, as ``offer_to_dict`` wrote it; ``debt_ids``: the debts it settles)."""

    id: uuid.UUID
    valid_until: date
    tenant_id: uuid.UUID
    creditor: str
    debt_ids: list[str]
    terms: dict[str, Any]


class UnprovenCreditor(NamedTuple):
    """A creditor holding debts of the CPF that the session has not proven: its name and
    id only (for the person to prove their identity there)."""

    id: uuid.UUID
    name: str


class ContactLine(NamedTuple):
    """A contact on file, as the debts page lists it."""

    id: uuid.UUID
    kind: ContactKind
    value: str
    not_mine_at: datetime | None


@lru_cache(maxsize=256)
def _parse_policy(text: str) -> NegotiationPolicy:
    return load_policy_toml(text)


@lru_cache(maxsize=1)
def _default_policy_text() -> str:
    return DEFAULT_POLICY.read_text(encoding="utf-8")


def _policy_from_text(text: str | None) -> NegotiationPolicy:
    return _parse_policy(text or _default_policy_text())


def policy_of(tenant: Tenant) -> NegotiationPolicy:
    """The tenant's negotiation policy (charges and offers), or the platform default."""
    return _policy_from_text(tenant.policy_toml)


# The statements are built once; only the parameters change between requests.
_DEBT_COLUMNS = (
    Debt.tenant_id,
    Tenant.name,
    Tenant.legal_name,
    Tenant.cnpj,
    Tenant.address,
    Tenant.policy_toml,
    Debt.id,
    Debt.contract,
    Debt.product,
    Debt.due_date,
    Debt.original_amount,
    Debt.status,
    exists()
    .where(Dispute.debt_id == Debt.id, Dispute.status == "open")
    .correlate(Debt)
    .label("disputed"),
    DebtItem.amount,
    DebtItem.due_date,
    Debt.paid,
    Debt.to_refund,
)
_DEBT_ORDER = (Tenant.name, Debt.due_date, Debt.id, DebtItem.number)
_DEBTS_OF_PEOPLE = (
    join(Debt, Debtor, Debtor.id == Debt.debtor_id)
    .join(Tenant, and_(Tenant.id == Debt.tenant_id, Tenant.is_active.is_(True)))
    .outerjoin(DebtItem, DebtItem.debt_id == Debt.id)
)
# Every read of a person's rows is narrowed to the creditors they proved.
_PROVEN: BindParameter[Any] = bindparam("tenants", expanding=True)
_DEBTS = (
    select(*_DEBT_COLUMNS)
    .select_from(_DEBTS_OF_PEOPLE)
    .where(Debtor.cpf_hash == bindparam("cpf_hash"), Debt.tenant_id.in_(_PROVEN))
    .order_by(*_DEBT_ORDER)
)
_AGREEMENTS_OF_PEOPLE = (
    select(Agreement.id, Agreement.total, Agreement.status, Tenant.name)
    .join(Debtor, Debtor.id == Agreement.debtor_id)
    .join(Tenant, Tenant.id == Agreement.tenant_id)
    .order_by(Agreement.created_at.desc(), Agreement.id)
)
_AGREEMENTS = _AGREEMENTS_OF_PEOPLE.where(
    Debtor.cpf_hash == bindparam("cpf_hash"), Debtor.tenant_id.in_(_PROVEN)
)
_CONTACTS_OF_PEOPLE = (
    select(Contact.id, Contact.kind, Contact.value, Contact.not_mine_at)
    .join(Debtor, Debtor.id == Contact.debtor_id)
    .order_by(Contact.kind, Contact.value, Contact.id)
)
_CONTACTS = _CONTACTS_OF_PEOPLE.where(
    Debtor.cpf_hash == bindparam("cpf_hash"), Debtor.tenant_id.in_(_PROVEN)
)
# Approved special offers: an approval, an acceptance or an expiry by the creditor adds
# or removes a row, so it changes the page's version. Their terms never change once
# proposed, so the version marks only the id and the validity, not the terms.
_SPECIAL_OFFER_COLUMNS = (SpecialOffer.id, SpecialOffer.valid_until)
_SPECIAL_OFFERS_OF_PEOPLE = (
    select(
        *_SPECIAL_OFFER_COLUMNS,
        SpecialOffer.tenant_id,
        Tenant.name,
        SpecialOffer.debt_ids,
        SpecialOffer.terms,
    )
    .join(Debtor, Debtor.id == SpecialOffer.debtor_id)
    .join(Tenant, and_(Tenant.id == SpecialOffer.tenant_id, Tenant.is_active.is_(True)))
    .where(SpecialOffer.status == SpecialOfferStatus.APPROVED)
    .order_by(Tenant.name, SpecialOffer.valid_until, SpecialOffer.id)
)
_SPECIAL_OFFERS = _SPECIAL_OFFERS_OF_PEOPLE.where(
    Debtor.cpf_hash == bindparam("cpf_hash"), Debtor.tenant_id.in_(_PROVEN)
)
_UNPROVEN_OF_PEOPLE = (
    select(Tenant.id, Tenant.name)
    .where(
        Tenant.is_active.is_(True),
        Tenant.id.in_(
            select(Debt.tenant_id)
            .join(Debtor, Debtor.id == Debt.debtor_id)
            .where(Debtor.cpf_hash == bindparam("cpf_hash"))
        ),
    )
    .order_by(Tenant.name, Tenant.id)
)
_UNPROVEN = _UNPROVEN_OF_PEOPLE.where(Tenant.id.not_in(_PROVEN))


AnySelect = Select[*tuple[Any, ...]]

# Constants written into the statement (not bound), so each execution sends one parameter.
_COLON = literal_column("':'", String)
_DASH = literal_column("'-'", String)


def _as_text(column: ColumnElement[Any]) -> ColumnElement[str]:
    """A value as text that cannot run into its neighbours: its length, a colon and the
    text (``-`` for NULL); so a concatenation of such values tells every value apart."""
    text = cast(column, String)
    return func.coalesce(cast(func.length(text), String) + _COLON + text, _DASH)


def _mark(query: AnySelect) -> ScalarSelect[str]:
    """Every row of ``query`` (correlated to the debtor session) encoded into one text,
    in the query's order: equal marks mean equal rows."""
    encoded = [_as_text(column) for column in query.selected_columns]
    line = encoded[0]
    for part in encoded[1:]:
        line = line + part
    lines = query.with_only_columns(line.label("line")).correlate(DebtorSession).subquery()
    return select(func.aggregate_strings(lines.c.line, ";")).scalar_subquery()


def _proofs_of_session() -> AnySelect:
    """The creditors proven by the enclosing statement's debtor session."""
    return (
        select(DebtorProof.tenant_id)
        .where(DebtorProof.session_id == DebtorSession.id)
        .correlate(DebtorSession)
    )


def _of_session(query: AnySelect) -> AnySelect:
    """``query`` narrowed to the person of the enclosing statement's debtor session, at
    the creditors that session proved."""
    return query.where(
        Debtor.cpf_hash == DebtorSession.cpf_hash,
        Debtor.tenant_id.in_(_proofs_of_session()),
    ).correlate(DebtorSession)


# The version of a page, read in one statement with the session check: the person's CPF
# hash and one mark per part of the page. Nothing is read for a session that is not
# live and verified.
#
# The creditors' columns (a policy may be long) are marked once per creditor, not per row.
_CREDITOR_COLUMNS = (
    Tenant.name,
    Tenant.legal_name,
    Tenant.cnpj,
    Tenant.address,
    Tenant.policy_toml,
)
_VERSION = select(
    DebtorSession.cpf_hash,
    select(func.aggregate_strings(cast(DebtorProof.tenant_id, String), ","))
    .where(DebtorProof.session_id == DebtorSession.id)
    .correlate(DebtorSession)
    .scalar_subquery(),
    _mark(
        _of_session(
            select(*(c for c in _DEBT_COLUMNS if not any(c is t for t in _CREDITOR_COLUMNS)))
            .select_from(_DEBTS_OF_PEOPLE)
            .order_by(*_DEBT_ORDER)
        )
    ),
    _mark(
        select(Tenant.id, *_CREDITOR_COLUMNS)
        .where(
            Tenant.id.in_(
                _of_session(select(Debt.tenant_id).join(Debtor, Debtor.id == Debt.debtor_id))
            )
        )
        .order_by(Tenant.id)
    ),
    _mark(_of_session(_AGREEMENTS_OF_PEOPLE)),
    _mark(_of_session(_CONTACTS_OF_PEOPLE)),
    _mark(_of_session(_SPECIAL_OFFERS_OF_PEOPLE.with_only_columns(*_SPECIAL_OFFER_COLUMNS))),
    _mark(
        select(Tenant.id, Tenant.name)
        .where(
            Tenant.is_active.is_(True),
            Tenant.id.in_(
                select(Debt.tenant_id)
                .join(Debtor, Debtor.id == Debt.debtor_id)
                .where(Debtor.cpf_hash == DebtorSession.cpf_hash)
                .correlate(DebtorSession)
            ),
            Tenant.id.not_in(_proofs_of_session()),
        )
        .order_by(Tenant.id)
    ),
).where(
    DebtorSession.id == bindparam("session_id"),
    DebtorSession.verified_at.is_not(None),
    DebtorSession.expires_at > bindparam("now"),
)

# One row per installment of each debt (a debt without installments has one row with
# None there): tenant id, name, legal name, CNPJ, address, policy, debt id, contract,
# product, due date, original amount, status, disputed, item amount, item due date,
# received against the debt, to refund.
DebtRows = tuple[tuple[Any, ...], ...]

_VIEWS: VersionedCache[str, list[CreditorView]] = VersionedCache(VIEW_CACHE_SIZE)


async def _debt_rows(
    session: AsyncSession, cpf_hash: str, tenants: Collection[uuid.UUID]
) -> DebtRows:
    result = await session.execute(_DEBTS, {"cpf_hash": cpf_hash, "tenants": list(tenants)})
    return tuple(tuple(row) for row in result)


def _views(rows: DebtRows, on: date) -> list[CreditorView]:
    """Group the rows by creditor and debt; value the open debts and make the offers."""
    creditors: dict[uuid.UUID, CreditorView] = {}
    policies: dict[uuid.UUID, NegotiationPolicy] = {}
    open_debts: dict[uuid.UUID, list[v.Debt]] = {}
    prescribed_debts: dict[uuid.UUID, list[v.Debt]] = {}
    index = 0
    while index < len(rows):
        first = rows[index]
        debt_id = first[6]
        items: list[v.DebtItem] = []
        while index < len(rows) and rows[index][6] == debt_id:
            if rows[index][13] is not None:
                items.append(v.DebtItem(rows[index][13], rows[index][14]))
            index += 1
        (tenant_id, name, legal_name, cnpj, address, policy_text) = first[:6]
        (contract, product, due_date, original_amount, status, disputed) = first[7:13]
        paid, to_refund = first[15], first[16]
        view = creditors.get(tenant_id)
        if view is None:
            view = creditors[tenant_id] = CreditorView(
                tenant_id=tenant_id,
                name=name,
                legal_name=legal_name,
                cnpj=format_cnpj(cnpj),
                address=address,
            )
            policies[tenant_id] = _policy_from_text(policy_text)
        valuation = None
        if status == DebtStatus.OPEN and items:
            domain_debt = v.Debt(reference=contract, items=tuple(items), paid=paid)
            valuation = v.valuate(domain_debt, on, terms=policies[tenant_id].charges)
            if not disputed:  # a disputed debt is not offered until answered
                group = prescribed_debts if valuation.is_prescribed else open_debts
                group.setdefault(tenant_id, []).append(domain_debt)
        view.debts.append(
            DebtView(
                id=debt_id,
                contract=contract,
                product=product,
                due_date=due_date,
                original_amount=original_amount,
                status=status,
                valuation=valuation,
                disputed=bool(disputed),
                paid=paid,
                to_refund=to_refund,
            )
        )
    for tenant_id, debts in open_debts.items():
        # Prescribed debts are left out of offers: nothing here may push their collection.
        creditors[tenant_id].offers = make_offers(debts, policies[tenant_id], on)
    for tenant_id, view in creditors.items():
        view.voluntary_allowed = policies[tenant_id].allow_voluntary_prescribed
        if view.voluntary_allowed and tenant_id in prescribed_debts:
            view.voluntary_offers = voluntary_offers(
                prescribed_debts[tenant_id], policies[tenant_id], on
            )
    return list(creditors.values())


def voluntary_offers(debts: list[v.Debt], policy: NegotiationPolicy, on: date) -> list[Offer]:
    """The offers for voluntary payment of the prescribed ``debts`` (apart from the
    ordinary offers, so an agreement made from one holds prescribed debts only); none
    unless the policy allows it."""
    offers = make_offers(debts, policy, on, include_prescribed=True)
    return [replace(o, code=VOLUNTARY_PREFIX + o.code) for o in offers if o.includes_prescribed]


def _cached_views(cpf_hash: str, rows: DebtRows, on: date) -> list[CreditorView]:
    return _VIEWS.get(cpf_hash, (on, rows), lambda: _views(rows, on))


async def debts_of_person(
    db: Database, cpf_hash: str, on: date, *, tenants: Collection[uuid.UUID]
) -> list[CreditorView]:
    """Every debt of the CPF at the proven creditors ``tenants``; open ones valued on
    ``on`` and offered."""
    async with db.session(Scope.system()) as session:
        rows = await _debt_rows(session, cpf_hash, tenants)
    return _cached_views(cpf_hash, rows, on)


@dataclass(frozen=True, slots=True)
class PersonPage:
    """Everything the debts page shows, and the version it was read at."""

    cpf_hash: str
    on: date
    version: Hashable  # equal versions mean an equal page (same rows, same day)
    rows: DebtRows
    agreements: tuple[AgreementLine, ...]
    contacts: tuple[ContactLine, ...]
    approved_offers: tuple[SpecialOfferLine, ...] = ()
    unproven: tuple[UnprovenCreditor, ...] = ()

    @property
    def creditors(self) -> list[CreditorView]:
        """The debts valued on ``on`` and the offers, by creditor (computed once per version)."""
        return _cached_views(self.cpf_hash, self.rows, self.on)

    @property
    def special_offers(self) -> tuple[SpecialOfferLine, ...]:
        """Approved special offers still valid on ``on`` whose debts are all still open
        and undisputed (anything else could not be accepted)."""
        offered = {
            str(d.id)
            for c in self.creditors
            for d in c.debts
            if d.valuation is not None and not d.disputed
        }
        return tuple(
            line
            for line in self.approved_offers
            if line.valid_until >= self.on and all(d in offered for d in line.debt_ids)
        )


_PAGES: VersionedCache[str, PersonPage] = VersionedCache(PAGE_CACHE_SIZE)


class _DriverStatement(NamedTuple):
    sql: str
    names: tuple[str, ...]  # the parameter of each $n
    constants: dict[str, Any]  # the statement's own values, as the driver takes them


@lru_cache(maxsize=4)
def _driver_version(dialect: Any) -> _DriverStatement:
    """``_VERSION`` compiled once for the driver, with its constant values converted."""
    compiled = _VERSION.compile(dialect=dialect)
    state = compiled.construct_expanded_state(
        {"session_id": "", "now": datetime(2000, 1, 1, tzinfo=UTC)}
    )
    names = tuple(state.positiontup or ())
    processors: dict[str, Any] = dict(state.processors)  # SQLAlchemy's conversions
    constants = {}
    for name in names:
        value = state.parameters[name]
        processor = processors.get(name)
        constants[name] = processor(value) if processor else value
    return _DriverStatement(state.statement, names, constants)


class NotAtHand:
    """``cached_verified_page`` found a live session whose page this process has not
    kept at that version: read it in a unit of work."""


NOT_AT_HAND = NotAtHand()


async def cached_verified_page(
    driver: Any, dialect: Any, session_id: str, now: datetime, on: date
) -> PersonPage | NotAtHand | None:
    """The page of a live verified session if this process keeps it at the version the
    database has now, else ``NOT_AT_HAND``; None when the session is not live and
    verified. The version is read on every call (on the driver's connection of
    ``Database.driver_snapshot``), so a payment or an import shows on the next request.
    """
    statement = _driver_version(dialect)
    values = {**statement.constants, "session_id": session_id, "now": now.astimezone(UTC)}
    found = await driver.fetchrow(statement.sql, *(values[n] for n in statement.names))
    if found is None:
        return None
    tenants = sorted(uuid.UUID(t) for t in (found[1] or "").split(",") if t)
    page = _PAGES.find(found[0], (on, tuple(tenants), *tuple(found)[2:]))
    return NOT_AT_HAND if page is None else page


async def read_verified_page(
    session: AsyncSession, session_id: str, now: datetime, on: date
) -> PersonPage | None:
    """The debts page of a live verified debtor session (by its id), or None.

    One statement reads the session and the page's version; the page itself is read
    only when this process has not seen that version yet. ``session`` must be a
    snapshot unit of work (``Database.session(..., snapshot=True)``) opened for this,
    so that the version and the rows read after it agree.
    """
    found = (await session.execute(_VERSION, {"session_id": session_id, "now": now})).first()
    if found is None:
        return None
    cpf_hash: str = found[0]
    tenants = sorted(uuid.UUID(t) for t in (found[1] or "").split(",") if t)
    version = (on, tuple(tenants), *found[2:])
    page = _PAGES.find(cpf_hash, version)
    if page is None:
        params = {"cpf_hash": cpf_hash, "tenants": tenants}
        page = PersonPage(
            cpf_hash,
            on,
            version,
            await _debt_rows(session, cpf_hash, tenants),
            tuple(AgreementLine(*row) for row in await session.execute(_AGREEMENTS, params)),
            tuple(ContactLine(*row) for row in await session.execute(_CONTACTS, params)),
            tuple(SpecialOfferLine(*row) for row in await session.execute(_SPECIAL_OFFERS, params)),
            tuple(UnprovenCreditor(*row) for row in await session.execute(_UNPROVEN, params)),
        )
        _PAGES.keep(cpf_hash, version, page)
    return page

"""The debtor site's front door: a CPF, then a proof that it is the person's own.

Nothing about debts is read before the proof. Starting a look-up does not touch the
debts at all, so its answer and its timing are the same for a CPF with and without
debts. The proofs (date of birth on file, or a one-time code sent to the contacts on
file) run the same queries either way and fail with the same message. No part of a
contact is shown before the proof (issue 26 item 5): the page says a code went "to the
contacts the creditor has on file" for every CPF, and for a CPF with no contact nothing
is sent. Failures are limited per CPF and per address in a sliding window.

A proof counts only for the creditors whose own records it matches. Any creditor (or its
API client, or a spreadsheet it imports) can write a debtor row with any CPF and any date
of birth, so a date that matches one creditor's row proves that creditor alone; a code
sent to a contact proves the creditors that hold that contact. The session keeps the
proven creditors (``DebtorProof``) and every debtor-side read is narrowed to them; the
person proves again, once per creditor, to see the others. Dates of birth that disagree
between creditors are written to the audit log (which rows, never the dates).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.documents import normalize_cpf
from collection.models import (
    Contact,
    ContactKind,
    Debt,
    Debtor,
    DebtorAttempt,
    DebtorCode,
    DebtorProof,
    DebtorSession,
)
from collection.services.debtor_view import PersonPage, read_verified_page
from core.clock import SAO_PAULO, Clock
from core.db import Database, Scope
from core.i18n import gettext as _
from core.mail import queue_email, queue_text
from core.security import keyed_hash, new_token, token_digest
from tenants.models import Tenant
from tenants.services import audit


@dataclass(frozen=True, slots=True)
class Person:
    """A verified person: the CPF (its keyed hash) and the creditors it was proven for.

    Every debtor-side service takes ``tenants`` from here: nothing of a creditor outside
    it may be read or changed."""

    session_id: str
    cpf_hash: str
    tenants: frozenset[uuid.UUID]


@dataclass(frozen=True, slots=True)
class Proven:
    """A proof that worked: the new session token and the creditors it newly proved."""

    token: str
    tenants: frozenset[uuid.UUID]


@dataclass(frozen=True, slots=True)
class CreditorToProve:
    """A creditor of the person that the session has not proven yet (its name only)."""

    id: uuid.UUID
    name: str


class AccessRefused(Exception):
    """The proof failed (``wait_minutes`` is 0) or is blocked for a while."""

    def __init__(self, wait_minutes: int = 0) -> None:
        super().__init__("throttled" if wait_minutes else "invalid")
        self.wait_minutes = wait_minutes


@dataclass(frozen=True, slots=True)
class AccessRules:
    session_minutes: int = 15
    window_minutes: int = 60
    max_failures_per_cpf: int = 5
    max_failures_per_ip: int = 20
    code_minutes: int = 10
    codes_per_session: int = 3


class DebtorAccess:
    """Look-up sessions and identity proofs for the debtor site."""

    def __init__(
        self, db: Database, cpf_hash_key: str, clock: Clock, rules: AccessRules | None = None
    ) -> None:
        self.db = db
        self.cpf_hash_key = cpf_hash_key
        self.clock = clock
        self.rules = rules or AccessRules()

    def cpf_hash(self, cpf: str) -> str:
        return keyed_hash(self.cpf_hash_key, cpf)

    async def start(self, raw_cpf: str, *, ip: str) -> str:
        """Open an unverified session for a CPF; raises InvalidDocument when malformed."""
        cpf = normalize_cpf(raw_cpf)
        token = new_token()
        now = self.clock.now()
        async with self.db.session(Scope.system()) as session:
            session.add(
                DebtorSession(
                    id=token_digest(token),
                    cpf_hash=self.cpf_hash(cpf),
                    created_at=now,
                    expires_at=now + timedelta(minutes=self.rules.session_minutes),
                    ip=ip[:45],
                )
            )
            await session.commit()
        return token

    async def page(self, token: str) -> PersonPage | None:
        """The debts page of a verified cookie, or None: the session check and the page
        are read in one unit of work."""
        if not token or len(token) > 100:
            return None
        now = self.clock.now()
        async with self.db.session(Scope.system(), snapshot=True) as session:
            return await read_verified_page(
                session, token_digest(token), now, now.astimezone(SAO_PAULO).date()
            )

    async def person(self, token: str) -> Person | None:
        """The verified person of a cookie with the creditors proven, or None."""
        found = await self.current(token)
        if found is None or found.verified_at is None:
            return None
        async with self.db.session(Scope.system()) as session:
            tenants = frozenset(
                (
                    await session.scalars(
                        select(DebtorProof.tenant_id).where(DebtorProof.session_id == found.id)
                    )
                ).all()
            )
        return Person(found.id, found.cpf_hash, tenants)

    async def creditor_to_prove(self, token: str, tenant_id: uuid.UUID) -> CreditorToProve | None:
        """A creditor holding debts of the verified person's CPF that the session has not
        proven yet, or None (not verified, already proven, or not the person's)."""
        person = await self.person(token)
        if person is None or tenant_id in person.tenants:
            return None
        async with self.db.session(Scope.system()) as session:
            name = await session.scalar(
                select(Tenant.name).where(
                    Tenant.id == tenant_id,
                    Tenant.is_active.is_(True),
                    Tenant.id.in_(
                        select(Debt.tenant_id)
                        .join(Debtor, Debtor.id == Debt.debtor_id)
                        .where(Debtor.cpf_hash == person.cpf_hash)
                    ),
                )
            )
        return None if name is None else CreditorToProve(tenant_id, name)

    async def current(self, token: str) -> DebtorSession | None:
        """The live session of a cookie, verified or not."""
        if not token or len(token) > 100:
            return None
        async with self.db.session(Scope.system()) as session:
            found = await session.get(DebtorSession, token_digest(token))
            if found is None or found.expires_at <= self.clock.now():
                return None
            return found

    # -- proofs ---------------------------------------------------------------------------

    async def verify_birth_date(
        self,
        token: str,
        birth_date: date | None,
        *,
        ip: str,
        tenant_id: uuid.UUID | None = None,
    ) -> Proven:
        """Prove the CPF with the date of birth on file: it proves each creditor whose own
        row has that date (and must prove ``tenant_id`` when given); a new session token."""
        async with self.db.session(Scope.system()) as session:
            pending = await self._pending(session, token, ip)
            # The same query runs whether or not the CPF has debts.
            rows = (
                await session.execute(
                    select(Debtor.tenant_id, Debtor.id, Debtor.birth_date).where(
                        Debtor.cpf_hash == pending.cpf_hash
                    )
                )
            ).all()
            matched = {t for t, _id, born in rows if birth_date is not None and born == birth_date}
            if not matched or (tenant_id is not None and tenant_id not in matched):
                await self._fail(session, pending.cpf_hash, ip)
            disagree = [d for t, d, born in rows if born is not None and born != birth_date]
            if disagree:
                # Recorded for the platform's staff, never shown: which rows, not the dates.
                audit.record(
                    session,
                    audit.Actor(None, "debtor site", ip[:45]),
                    "debtor.birth_date_conflict",
                    details={
                        "matched_debtors": sorted(str(d) for t, d, _b in rows if t in matched),
                        "other_debtors": sorted(str(d) for d in disagree),
                    },
                )
            return await self._verified(session, pending, ip, frozenset(matched), "birth_date")

    async def send_code(
        self,
        token: str,
        *,
        ip: str,
        channel: str = "email",
        tenant_id: uuid.UUID | None = None,
    ) -> None:
        """Send a one-time code by e-mail or SMS to the contact on file (at ``tenant_id``
        when given); nothing is sent when there is none, and the caller cannot tell."""
        kind = ContactKind.PHONE if channel == "sms" else ContactKind.EMAIL
        now = self.clock.now()
        async with self.db.session(Scope.system()) as session:
            pending = await self._pending(session, token, ip)
            sent = await session.scalar(
                select(func.count())
                .select_from(DebtorCode)
                .where(DebtorCode.session_id == pending.id, DebtorCode.expires_at > now)
            )
            if int(sent or 0) >= self.rules.codes_per_session:
                raise AccessRefused(wait_minutes=self.rules.code_minutes)
            contact = await self._contact_on_file(session, pending.cpf_hash, kind, tenant_id)
            code = f"{secrets.randbelow(1_000_000):06d}"
            session.add(
                DebtorCode(
                    id=uuid.uuid4(),
                    session_id=pending.id,
                    code_hash=self._code_hash(code),
                    contact_id=contact.id if contact is not None else None,
                    expires_at=now + timedelta(minutes=self.rules.code_minutes),
                )
            )
            if contact is not None and kind == ContactKind.EMAIL:
                queue_email(
                    session,
                    to=contact.value,
                    template="debtor_code",
                    context={"code": code, "minutes": self.rules.code_minutes},
                )
            elif contact is not None:
                queue_text(
                    session,
                    to=contact.value,
                    body=_(
                        "Quita: your code is %(code)s. It is valid for %(n)s minutes. "
                        "Never share it."
                    )
                    % {"code": code, "n": self.rules.code_minutes},
                )
            await session.commit()

    async def verify_code(self, token: str, code: str, *, ip: str) -> Proven:
        """Prove the CPF with the code sent to a contact: it proves the creditors holding
        that contact for this CPF; returns a new session token."""
        now = self.clock.now()
        async with self.db.session(Scope.system()) as session:
            pending = await self._pending(session, token, ip)
            codes = (
                await session.scalars(
                    select(DebtorCode).where(
                        DebtorCode.session_id == pending.id,
                        DebtorCode.used_at.is_(None),
                        DebtorCode.expires_at > now,
                        DebtorCode.contact_id.is_not(None),
                    )
                )
            ).all()
            digest = self._code_hash(code.strip())
            match = next((c for c in codes if hmac.compare_digest(c.code_hash, digest)), None)
            if match is None:
                await self._fail(session, pending.cpf_hash, ip)
            assert match is not None and match.contact_id is not None
            match.used_at = now
            contact = await session.get_one(Contact, match.contact_id)
            holders = frozenset(
                (
                    await session.scalars(
                        select(Debtor.tenant_id)
                        .join(Contact, Contact.debtor_id == Debtor.id)
                        .where(
                            Debtor.cpf_hash == pending.cpf_hash,
                            Contact.kind == contact.kind,
                            Contact.value == contact.value,
                            Contact.not_mine_at.is_(None),
                        )
                    )
                ).all()
            )
            return await self._verified(session, pending, ip, holders, "code")

    async def end(self, token: str) -> None:
        async with self.db.session(Scope.system()) as session:
            await session.execute(
                delete(DebtorProof).where(DebtorProof.session_id == token_digest(token))
            )
            await session.execute(
                delete(DebtorSession).where(DebtorSession.id == token_digest(token))
            )
            await session.commit()

    # -- shared steps -----------------------------------------------------------------------

    async def _pending(self, session: AsyncSession, token: str, ip: str) -> DebtorSession:
        """The unverified session, after checking the failure limits."""
        now = self.clock.now()
        pending = await session.get(DebtorSession, token_digest(token))
        if pending is None or pending.expires_at <= now:
            raise AccessRefused()
        since = now - timedelta(minutes=self.rules.window_minutes)
        failures = select(func.count()).select_from(DebtorAttempt).where(DebtorAttempt.at >= since)
        by_cpf = int(
            await session.scalar(failures.where(DebtorAttempt.cpf_hash == pending.cpf_hash)) or 0
        )
        by_ip = int(await session.scalar(failures.where(DebtorAttempt.ip == ip)) or 0)
        if by_cpf >= self.rules.max_failures_per_cpf or by_ip >= self.rules.max_failures_per_ip:
            oldest = await session.scalar(
                select(func.min(DebtorAttempt.at)).where(
                    DebtorAttempt.at >= since,
                    (DebtorAttempt.cpf_hash == pending.cpf_hash) | (DebtorAttempt.ip == ip),
                )
            )
            raise AccessRefused(wait_minutes=self._wait(oldest, now))
        return pending

    def _wait(self, oldest: datetime | None, now: datetime) -> int:
        window = timedelta(minutes=self.rules.window_minutes)
        if oldest is None:
            return self.rules.window_minutes
        return max(1, int((oldest + window - now).total_seconds() // 60) + 1)

    async def _fail(self, session: AsyncSession, cpf_hash: str, ip: str) -> None:
        session.add(
            DebtorAttempt(id=uuid.uuid4(), cpf_hash=cpf_hash, ip=ip[:45], at=self.clock.now())
        )
        await session.commit()
        raise AccessRefused()

    async def _verified(
        self,
        session: AsyncSession,
        pending: DebtorSession,
        ip: str,
        tenants: frozenset[uuid.UUID],
        how: str,
    ) -> Proven:
        """Swap the session for a verified one (a new token: no fixation) that keeps the
        creditors proven before and adds ``tenants``."""
        now = self.clock.now()
        cpf_hash = pending.cpf_hash
        before = {
            t: h
            for t, h in await session.execute(
                select(DebtorProof.tenant_id, DebtorProof.how).where(
                    DebtorProof.session_id == pending.id
                )
            )
        }
        await session.execute(delete(DebtorProof).where(DebtorProof.session_id == pending.id))
        await session.delete(pending)
        fresh = new_token()
        session.add(
            DebtorSession(
                id=token_digest(fresh),
                cpf_hash=cpf_hash,
                verified_at=now,
                created_at=now,
                expires_at=now + timedelta(minutes=self.rules.session_minutes),
                ip=ip[:45],
            )
        )
        await session.flush()
        proven = {**{t: how for t in tenants}, **before}
        session.add_all(
            DebtorProof(session_id=token_digest(fresh), tenant_id=t, how=h, at=now)
            for t, h in proven.items()
        )
        # Failures are forgiven only once every creditor of the CPF is proven: otherwise
        # a proof for one creditor would reset the count of guesses at another's.
        holders = set(
            (
                await session.scalars(select(Debtor.tenant_id).where(Debtor.cpf_hash == cpf_hash))
            ).all()
        )
        if holders <= proven.keys():
            await session.execute(delete(DebtorAttempt).where(DebtorAttempt.cpf_hash == cpf_hash))
        await session.commit()
        return Proven(fresh, frozenset(proven.keys() - before.keys()))

    async def _contact_on_file(
        self,
        session: AsyncSession,
        cpf_hash: str,
        kind: ContactKind,
        tenant_id: uuid.UUID | None = None,
    ) -> Contact | None:
        query = (
            select(Contact)
            .join(Debtor, Debtor.id == Contact.debtor_id)
            .where(
                Debtor.cpf_hash == cpf_hash,
                Contact.kind == kind,
                Contact.not_mine_at.is_(None),
            )
            .order_by(Contact.created_at, Contact.id)
            .limit(1)
        )
        if tenant_id is not None:
            query = query.where(Debtor.tenant_id == tenant_id)
        found: Contact | None = await session.scalar(query)
        return found

    def _code_hash(self, code: str) -> str:
        return keyed_hash(self.cpf_hash_key, "code:" + code)

"""The debtor site's front door: a CPF, then a proof that it is the person's own.

Nothing about debts is read before the proof. Starting a look-up does not touch the
debts at all, so its answer and its timing are the same for a CPF with and without
debts. The proofs (date of birth on file, or a one-time code sent to the contacts on
file) run the same queries either way and fail with the same message. No part of a
contact is shown before the proof (issue 26 item 5): the page says a code went "to the
contacts the creditor has on file" for every CPF, and for a CPF with no contact nothing
is sent. Wrong answers and code requests are limited per address, per CPF and per
contact with delays that grow and always end (``debtor_throttle``): the attacker's
address is slowed down, the person is never locked out.

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
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from collection.debtor import throttle
from collection.debtor.page import (
    NotAtHand,
    PersonPage,
    cached_verified_page,
    read_verified_page,
)
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
    """The proof failed, or is refused for a while (``wait_seconds`` > 0).

    ``left`` is how many wrong answers remain before a wait (after a wrong answer);
    ``next_in`` the wait before the next try when that answer started one; ``kind`` the
    path refused (birth_date, code, or send for a code request)."""

    def __init__(
        self,
        wait_seconds: int = 0,
        *,
        kind: str = "",
        left: int | None = None,
        next_in: int = 0,
    ) -> None:
        super().__init__("throttled" if wait_seconds else "invalid")
        self.wait_seconds = wait_seconds
        self.kind = kind
        self.left = left
        self.next_in = next_in


@dataclass(frozen=True, slots=True)
class AccessRules:
    session_minutes: int = 15
    code_minutes: int = 10
    # A code request goes to this many of the contacts on file (oldest first), at most.
    contacts_per_send: int = 3


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
        on = now.astimezone(SAO_PAULO).date()
        digest = token_digest(token)
        # Most requests find the page kept at the database's current version: one
        # statement on the driver's connection then answers them.
        async with self.db.driver_snapshot(Scope.system()) as driver:
            if driver is not None:
                dialect = self.db.engine.dialect
                found = await cached_verified_page(driver, dialect, digest, now, on)
                if not isinstance(found, NotAtHand):
                    return found
        async with self.db.session(Scope.system(), snapshot=True) as session:
            return await read_verified_page(session, digest, now, on)

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
            pending, attempt = await self._pending(session, token, ip, throttle.BIRTH_DATE)
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
                await self._fail(session, pending.cpf_hash, ip, throttle.BIRTH_DATE)
            await throttle.release(session, attempt)
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
        """Send a one-time code by e-mail or SMS to the contacts on file (at ``tenant_id``
        when given), each its own code; nothing is sent when there is none, and the caller
        cannot tell. Raises AccessRefused with the wait when asked too often."""
        kind = ContactKind.PHONE if channel == "sms" else ContactKind.EMAIL
        channel = "sms" if kind == ContactKind.PHONE else "email"
        now = self.clock.now()
        ip = ip[:45]
        async with self.db.session(Scope.system()) as session:
            pending = await self._live(session, token)
            until = await throttle.send_refused_until(session, pending.cpf_hash, ip, channel, now)
            if until is not None:
                raise AccessRefused(_seconds(until - now), kind="send")
            if not await throttle.record_send(session, pending.cpf_hash, ip, channel, now):
                raise AccessRefused(int(throttle.SEND_LADDER[0].total_seconds()), kind="send")
            sent = 0
            for contact in await self._contacts_on_file(session, pending.cpf_hash, kind, tenant_id):
                key = self._contact_key(contact)
                if await throttle.contact_may_receive(session, key, now):
                    self._send_one(session, pending, contact, key, now)
                    sent += 1
            if not sent:
                # Nothing to send to: a row all the same, so the session looks alike.
                self._add_code(session, pending, None, None, now)
            await session.commit()

    def _send_one(
        self,
        session: AsyncSession,
        pending: DebtorSession,
        contact: Contact,
        key: str,
        now: datetime,
    ) -> None:
        code = self._add_code(session, pending, contact, key, now)
        if contact.kind == ContactKind.EMAIL:
            queue_email(
                session,
                to=contact.value,
                template="debtor_code",
                context={"code": code, "minutes": self.rules.code_minutes},
            )
            return
        queue_text(
            session,
            to=contact.value,
            body=_("Quita: your code is %(code)s. It is valid for %(n)s minutes. Never share it.")
            % {"code": code, "n": self.rules.code_minutes},
        )

    def _add_code(
        self,
        session: AsyncSession,
        pending: DebtorSession,
        contact: Contact | None,
        key: str | None,
        now: datetime,
    ) -> str:
        code = f"{secrets.randbelow(1_000_000):06d}"
        session.add(
            DebtorCode(
                id=uuid.uuid4(),
                session_id=pending.id,
                cpf_hash=pending.cpf_hash,
                code_hash=self._code_hash(code),
                contact_id=contact.id if contact is not None else None,
                contact_key=key,
                created_at=now,
                expires_at=now + timedelta(minutes=self.rules.code_minutes),
            )
        )
        return code

    async def verify_code(self, token: str, code: str, *, ip: str) -> Proven:
        """Prove the CPF with the code sent to a contact: it proves the creditors holding
        that contact for this CPF; returns a new session token."""
        now = self.clock.now()
        async with self.db.session(Scope.system()) as session:
            pending, attempt = await self._pending(session, token, ip, throttle.CODE)
            codes = (
                await session.scalars(
                    select(DebtorCode).where(
                        # Any live code of the CPF: one asked for in another session
                        # (maybe by someone else) still reached only the person.
                        or_(
                            DebtorCode.session_id == pending.id,
                            DebtorCode.cpf_hash == pending.cpf_hash,
                        ),
                        DebtorCode.used_at.is_(None),
                        DebtorCode.expires_at > now,
                        DebtorCode.contact_id.is_not(None),
                    )
                )
            ).all()
            digest = self._code_hash(code.strip())
            match = next((c for c in codes if hmac.compare_digest(c.code_hash, digest)), None)
            # Claimed in one conditional UPDATE: two tries racing with one code, one wins.
            if match is None or not await self._claim(session, match.id, now):
                await self._fail(session, pending.cpf_hash, ip, throttle.CODE)
            await throttle.release(session, attempt)
            assert match is not None and match.contact_id is not None
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

    @staticmethod
    async def _claim(session: AsyncSession, code_id: uuid.UUID, now: datetime) -> bool:
        result = await session.execute(
            update(DebtorCode)
            .where(DebtorCode.id == code_id, DebtorCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def purge_expired(self, now: datetime) -> None:
        """Forget old failures, code requests and codes (periodic job)."""
        async with self.db.session(Scope.system()) as session:
            await throttle.purge(session, now)
            await session.commit()

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

    async def _live(self, session: AsyncSession, token: str) -> DebtorSession:
        """The session of a cookie, or AccessRefused."""
        pending = await session.get(DebtorSession, token_digest(token))
        if pending is None or pending.expires_at <= self.clock.now():
            raise AccessRefused()
        return pending

    async def _pending(
        self, session: AsyncSession, token: str, ip: str, kind: str
    ) -> tuple[DebtorSession, uuid.UUID]:
        """The session, once a proof on path ``kind`` may be tried now, and the failure
        reserved for this try (released when the answer is right).

        The failure is written and committed before the answer is checked, then the
        limits are read again without it: tries racing in parallel see each other, so a
        burst cannot slip more guesses past the limits than one try after another."""
        pending = await self._live(session, token)
        now = self.clock.now()
        cpf_hash, ip = pending.cpf_hash, ip[:45]
        standing = await throttle.proof_standing(session, cpf_hash, ip, kind, now)
        if standing.until is None:
            attempt = throttle.record_failure(session, cpf_hash, ip, kind, now)
            await session.commit()
            standing = await throttle.proof_standing(
                session, cpf_hash, ip, kind, now, excluding=attempt
            )
            if standing.until is None:
                return pending, attempt
            await throttle.release(session, attempt)  # a refused try is not counted
            await session.commit()
        assert standing.until is not None
        raise AccessRefused(_seconds(standing.until - now), kind=kind)

    async def _fail(self, session: AsyncSession, cpf_hash: str, ip: str, kind: str) -> None:
        """Refuse a wrong answer (its failure is already counted), saying how many remain
        before a wait, or how long the wait before the next try is."""
        now = self.clock.now()
        await session.commit()
        standing = await throttle.proof_standing(session, cpf_hash, ip[:45], kind, now)
        next_in = _seconds(standing.until - now) if standing.until is not None else 0
        raise AccessRefused(kind=kind, left=standing.left, next_in=next_in)

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
        # Failures are forgiven only once every creditor of the CPF is proven (otherwise a
        # proof for one creditor would reset the count of guesses at another's), and only
        # this address's: guesses from elsewhere keep counting.
        holders = set(
            (
                await session.scalars(select(Debtor.tenant_id).where(Debtor.cpf_hash == cpf_hash))
            ).all()
        )
        if holders <= proven.keys():
            await session.execute(
                delete(DebtorAttempt).where(
                    DebtorAttempt.cpf_hash == cpf_hash, DebtorAttempt.ip == ip[:45]
                )
            )
        await session.commit()
        return Proven(fresh, frozenset(proven.keys() - before.keys()))

    async def _contacts_on_file(
        self,
        session: AsyncSession,
        cpf_hash: str,
        kind: ContactKind,
        tenant_id: uuid.UUID | None = None,
    ) -> list[Contact]:
        """The CPF's contacts of ``kind`` (at ``tenant_id`` when given), one per value,
        oldest first, at most ``contacts_per_send``."""
        query = (
            select(Contact)
            .join(Debtor, Debtor.id == Contact.debtor_id)
            .where(
                Debtor.cpf_hash == cpf_hash,
                Contact.kind == kind,
                Contact.not_mine_at.is_(None),
            )
            .order_by(Contact.created_at, Contact.id)
            .limit(20)
        )
        if tenant_id is not None:
            query = query.where(Debtor.tenant_id == tenant_id)
        chosen: dict[str, Contact] = {}
        for contact in (await session.scalars(query)).all():
            chosen.setdefault(contact.value, contact)
        return list(chosen.values())[: self.rules.contacts_per_send]

    def _contact_key(self, contact: Contact) -> str:
        return keyed_hash(self.cpf_hash_key, f"contact:{contact.kind.value}:{contact.value}")

    def _code_hash(self, code: str) -> str:
        return keyed_hash(self.cpf_hash_key, "code:" + code)


def _seconds(delta: timedelta) -> int:
    """A wait in whole seconds, at least one."""
    return max(1, math.ceil(delta.total_seconds()))

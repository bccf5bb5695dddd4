"""The debtor site's front door: a CPF, then a proof that it is the person's own.

Nothing about debts is read before the proof. Starting a look-up does not touch the
debts at all, so its answer and its timing are the same for a CPF with and without
debts. The proofs (date of birth on file, or a one-time code e-mailed to the address on
file) run the same queries either way and fail with the same message; for a CPF with no
e-mail on file the code page shows a stable decoy address and sends nothing. Failures
are limited per CPF and per address in a sliding window.
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
from collection.models import Contact, ContactKind, Debtor, DebtorAttempt, DebtorCode, DebtorSession
from collection.services.debtor_view import PersonPage, read_verified_page
from core.clock import SAO_PAULO, Clock
from core.db import Database, Scope
from core.i18n import gettext as _
from core.mail import queue_email, queue_text
from core.security import keyed_hash, mask_email, mask_phone, new_token, token_digest

_DECOY_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.br", "uol.com.br")
_DECOY_LETTERS = "abcdefghijlmnoprstv"
_DECOY_AREAS = ("11", "21", "31", "41", "51", "61", "71", "81", "85", "19", "27", "48")


@dataclass(frozen=True, slots=True)
class Destinations:
    """Where a one-time code can go, masked."""

    email: str
    phone: str


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

    async def verify_birth_date(self, token: str, birth_date: date | None, *, ip: str) -> str:
        """Prove the CPF with the date of birth on file; returns a new session token."""
        async with self.db.session(Scope.system()) as session:
            pending = await self._pending(session, token, ip)
            # The same query runs whether or not the CPF has debts.
            dates = set(
                (
                    await session.scalars(
                        select(Debtor.birth_date).where(Debtor.cpf_hash == pending.cpf_hash)
                    )
                ).all()
            )
            if birth_date is None or birth_date not in dates:
                await self._fail(session, pending.cpf_hash, ip)
            return await self._verified(session, pending, ip)

    async def code_destination(self, token: str) -> Destinations | None:
        """Where a code would go, masked: the e-mail and the mobile on file (decoys when
        there is none, so the page looks the same for a CPF without debts)."""
        pending = await self.current(token)
        if pending is None:
            return None
        async with self.db.session(Scope.system()) as session:
            email = await self._contact_on_file(session, pending.cpf_hash, ContactKind.EMAIL)
            phone = await self._contact_on_file(session, pending.cpf_hash, ContactKind.PHONE)
        return Destinations(
            email=self._masked(email, pending.cpf_hash, ContactKind.EMAIL),
            phone=self._masked(phone, pending.cpf_hash, ContactKind.PHONE),
        )

    async def send_code(self, token: str, *, ip: str, channel: str = "email") -> str:
        """Send a one-time code by e-mail or SMS to the contact on file; returns where to,
        masked (a decoy, and nothing sent, when there is none: the answer is the same)."""
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
            contact = await self._contact_on_file(session, pending.cpf_hash, kind)
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
        return self._masked(contact, pending.cpf_hash, kind)

    async def verify_code(self, token: str, code: str, *, ip: str) -> str:
        """Prove the CPF with the code e-mailed to it; returns a new session token."""
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
            assert match is not None
            match.used_at = now
            return await self._verified(session, pending, ip)

    async def end(self, token: str) -> None:
        async with self.db.session(Scope.system()) as session:
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

    async def _verified(self, session: AsyncSession, pending: DebtorSession, ip: str) -> str:
        """Swap the pending session for a verified one (a new token: no fixation)."""
        now = self.clock.now()
        cpf_hash = pending.cpf_hash
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
        await session.execute(delete(DebtorAttempt).where(DebtorAttempt.cpf_hash == cpf_hash))
        await session.commit()
        return fresh

    async def _contact_on_file(
        self, session: AsyncSession, cpf_hash: str, kind: ContactKind
    ) -> Contact | None:
        found: Contact | None = await session.scalar(
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
        return found

    def _masked(self, contact: Contact | None, cpf_hash: str, kind: ContactKind) -> str:
        if contact is not None:
            return (
                mask_email(contact.value)
                if kind == ContactKind.EMAIL
                else mask_phone(contact.value)
            )
        if kind == ContactKind.EMAIL:
            return self._decoy(cpf_hash)
        seed = keyed_hash(self.cpf_hash_key, "decoy-phone:" + cpf_hash)
        area = _DECOY_AREAS[int(seed[:4], 16) % len(_DECOY_AREAS)]
        return f"({area}) *****-{int(seed[4:10], 16) % 10_000:04d}"

    def _decoy(self, cpf_hash: str) -> str:
        seed = keyed_hash(self.cpf_hash_key, "decoy:" + cpf_hash)
        letter = _DECOY_LETTERS[int(seed[:4], 16) % len(_DECOY_LETTERS)]
        return f"{letter}***@{_DECOY_DOMAINS[int(seed[4:8], 16) % len(_DECOY_DOMAINS)]}"

    def _code_hash(self, code: str) -> str:
        return keyed_hash(self.cpf_hash_key, "code:" + code)

"""The debtor site's front door: a CPF, then a proof that it is the person's own.

Nothing about debts is read before the proof. Starting a look-up does not touch the
debts at all, so its answer and its timing are the same for a CPF with and without
debts; the proof runs the same query either way and fails with the same message.
Failures are limited per CPF and per address in a sliding window.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, func, select

from collection.domain.documents import normalize_cpf
from collection.models import Debtor, DebtorAttempt, DebtorSession
from core.clock import Clock
from core.db import Database, Scope
from core.security import keyed_hash, new_token, token_digest


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

    async def current(self, token: str) -> DebtorSession | None:
        """The live session of a cookie, verified or not."""
        if not token or len(token) > 100:
            return None
        async with self.db.session(Scope.system()) as session:
            found = await session.get(DebtorSession, token_digest(token))
            if found is None or found.expires_at <= self.clock.now():
                return None
            return found

    async def verify_birth_date(self, token: str, birth_date: date | None, *, ip: str) -> str:
        """Prove the CPF with the date of birth on file; returns a new session token."""
        now = self.clock.now()
        since = now - timedelta(minutes=self.rules.window_minutes)
        async with self.db.session(Scope.system()) as session:
            pending = await session.get(DebtorSession, token_digest(token))
            if pending is None or pending.expires_at <= now:
                raise AccessRefused()
            cpf_hash = pending.cpf_hash
            failures = (
                select(func.count()).select_from(DebtorAttempt).where(DebtorAttempt.at >= since)
            )
            by_cpf = int(
                await session.scalar(failures.where(DebtorAttempt.cpf_hash == cpf_hash)) or 0
            )
            by_ip = int(await session.scalar(failures.where(DebtorAttempt.ip == ip)) or 0)
            if by_cpf >= self.rules.max_failures_per_cpf or by_ip >= self.rules.max_failures_per_ip:
                oldest = await session.scalar(
                    select(func.min(DebtorAttempt.at)).where(
                        DebtorAttempt.at >= since,
                        (DebtorAttempt.cpf_hash == cpf_hash) | (DebtorAttempt.ip == ip),
                    )
                )
                wait = self.rules.window_minutes
                if oldest is not None:
                    wait = max(
                        1, int((oldest + timedelta(minutes=wait) - now).total_seconds() // 60) + 1
                    )
                raise AccessRefused(wait_minutes=wait)
            # The same query runs whether or not the CPF has debts.
            dates = set(
                (
                    await session.scalars(
                        select(Debtor.birth_date).where(Debtor.cpf_hash == cpf_hash)
                    )
                ).all()
            )
            if birth_date is None or birth_date not in dates:
                session.add(DebtorAttempt(id=uuid.uuid4(), cpf_hash=cpf_hash, ip=ip[:45], at=now))
                await session.commit()
                raise AccessRefused()
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

    async def end(self, token: str) -> None:
        async with self.db.session(Scope.system()) as session:
            await session.execute(
                delete(DebtorSession).where(DebtorSession.id == token_digest(token))
            )
            await session.commit()

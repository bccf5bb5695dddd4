"""How often the debtor site lets anyone guess a proof or ask for a code (issue 26 item 8,
issue 25 item 8).

The aim is to stop the attacker, not the person. Wrong answers are counted on three
levels, each free up to a threshold and then slowed by a doubling delay (refused tries
are not counted, so every wait ends):

* one address on one CPF on one path (birth date or code): ``PAIR_FREE`` tries, then
  1 minute, 2, 4... up to the window. This is what a guesser from one place hits;
* one address over every CPF (enumeration): ``ADDRESS_FREE`` tries, then the same;
* one CPF on one path over every address: ``CPF_FREE`` tries, then 30 seconds doubling
  up to ``CPF_CAP`` (15 minutes) and never more, so the person, coming from their own
  address with the right date or code, gets in at the latest after that short delay.
  Wrong birth dates never slow the code path down, nor the other way round.

Code requests (each sends an e-mail or an SMS, which costs and annoys) follow a ladder
per CPF and channel: the first at once, then 1 minute, 5 minutes, 15 minutes, an hour;
at most ``SENDS_PER_CPF_DAY`` a day per CPF. One contact (the same phone or address,
whichever CPF or creditor asks) follows the same ladder and its own daily cap, silently
(a throttled contact is skipped, so the answer stays the same); one address may ask
``ADDRESS_SENDS_FREE`` times an hour, then waits with a doubling delay, and at most
``ADDRESS_SENDS_DAY`` times a day. The maintenance sweep forgets rows older than a day.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import DebtorAttempt, DebtorCode, DebtorCodeSend
from core.throttle import backoff_until, later, scheduled_until

BIRTH_DATE, CODE = "birth_date", "code"

WINDOW = timedelta(minutes=60)
PAIR_FREE = 5
ADDRESS_FREE = 20
CPF_FREE = 10
BACKOFF_BASE = timedelta(minutes=1)
CPF_BASE = timedelta(seconds=30)
CPF_CAP = timedelta(minutes=15)

DAY = timedelta(hours=24)
SEND_LADDER = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)
SENDS_PER_CPF_DAY = 6
SENDS_PER_CONTACT_DAY = 5
ADDRESS_SENDS_FREE = 5
ADDRESS_SENDS_DAY = 30


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a CPF and an address stand: refused ``until`` (None: a try is allowed now)
    and how many wrong answers are left before a wait."""

    until: datetime | None
    left: int


async def _run(session: AsyncSession, *where: Any) -> tuple[int, datetime | None]:
    row = (
        await session.execute(select(func.count(), func.max(DebtorAttempt.at)).where(*where))
    ).one()
    return int(row[0]), row[1]


async def proof_standing(
    session: AsyncSession,
    cpf_hash: str,
    ip: str,
    kind: str,
    now: datetime,
    *,
    excluding: uuid.UUID | None = None,
) -> Standing:
    """Whether a proof on path ``kind`` for this CPF from this address may be tried now
    (not counting the failure ``excluding``, the try being checked)."""
    recent = DebtorAttempt.at >= now - WINDOW
    if excluding is not None:
        recent = recent & (DebtorAttempt.id != excluding)
    pair = await _run(
        session,
        recent,
        DebtorAttempt.cpf_hash == cpf_hash,
        DebtorAttempt.ip == ip,
        DebtorAttempt.kind == kind,
    )
    address = await _run(session, recent, DebtorAttempt.ip == ip)
    person = await _run(
        session, recent, DebtorAttempt.cpf_hash == cpf_hash, DebtorAttempt.kind == kind
    )
    levels = (
        (pair, PAIR_FREE, BACKOFF_BASE, WINDOW),
        (address, ADDRESS_FREE, BACKOFF_BASE, WINDOW),
        (person, CPF_FREE, CPF_BASE, CPF_CAP),
    )
    until = later(
        now,
        *(
            backoff_until(n, free, last, base=base, cap=cap)
            for (n, last), free, base, cap in levels
        ),
    )
    return Standing(until, max(0, min(free - n for (n, _last), free, _b, _c in levels)))


def record_failure(
    session: AsyncSession, cpf_hash: str, ip: str, kind: str, now: datetime
) -> uuid.UUID:
    """Count a failure (a wrong answer, or a try not yet checked); returns its id."""
    attempt = DebtorAttempt(id=uuid.uuid4(), cpf_hash=cpf_hash, ip=ip, kind=kind, at=now)
    session.add(attempt)
    return attempt.id


async def release(session: AsyncSession, attempt: uuid.UUID) -> None:
    """Forget a failure reserved for a try that turned out right (or was refused)."""
    await session.execute(delete(DebtorAttempt).where(DebtorAttempt.id == attempt))


async def send_refused_until(
    session: AsyncSession, cpf_hash: str, ip: str, channel: str, now: datetime
) -> datetime | None:
    """Until when a new code request for this CPF and channel from this address is
    refused, or None when it may be sent now."""
    day = DebtorCodeSend.at >= now - DAY
    stats = select(func.count(), func.min(DebtorCodeSend.at), func.max(DebtorCodeSend.at))
    by_channel = (
        await session.execute(
            stats.where(day, DebtorCodeSend.cpf_hash == cpf_hash, DebtorCodeSend.channel == channel)
        )
    ).one()
    by_cpf = (await session.execute(stats.where(day, DebtorCodeSend.cpf_hash == cpf_hash))).one()
    by_ip_day = (await session.execute(stats.where(day, DebtorCodeSend.ip == ip))).one()
    by_ip_hour = (
        await session.execute(
            stats.where(DebtorCodeSend.at >= now - WINDOW, DebtorCodeSend.ip == ip)
        )
    ).one()
    return later(
        now,
        scheduled_until(int(by_channel[0]), by_channel[2], SEND_LADDER),
        _capped(int(by_cpf[0]), SENDS_PER_CPF_DAY, by_cpf[1]),
        backoff_until(
            int(by_ip_hour[0]), ADDRESS_SENDS_FREE, by_ip_hour[2], base=BACKOFF_BASE, cap=WINDOW
        ),
        _capped(int(by_ip_day[0]), ADDRESS_SENDS_DAY, by_ip_day[1]),
    )


def _capped(count: int, cap: int, oldest: datetime | None) -> datetime | None:
    """A daily cap reached: refused until the oldest of the day's requests is a day old."""
    return oldest + DAY if count >= cap and oldest is not None else None


async def contact_may_receive(session: AsyncSession, contact_key: str, now: datetime) -> bool:
    """Whether one more code may go to this contact now (the same ladder and a daily cap,
    over every CPF and creditor that holds it)."""
    row = (
        await session.execute(
            select(func.count(), func.max(DebtorCode.created_at)).where(
                DebtorCode.contact_key == contact_key, DebtorCode.created_at >= now - DAY
            )
        )
    ).one()
    count, last = int(row[0]), row[1]
    if count >= SENDS_PER_CONTACT_DAY:
        return False
    until = scheduled_until(count, last, SEND_LADDER)
    return until is None or until <= now


async def purge(session: AsyncSession, now: datetime) -> None:
    """Forget what no limit looks at any more: failures, code requests and codes older
    than a day (the longest window)."""
    await session.execute(delete(DebtorAttempt).where(DebtorAttempt.at < now - DAY))
    await session.execute(delete(DebtorCodeSend).where(DebtorCodeSend.at < now - DAY))
    await session.execute(delete(DebtorCode).where(DebtorCode.expires_at < now - DAY))


async def record_send(
    session: AsyncSession, cpf_hash: str, ip: str, channel: str, now: datetime
) -> bool:
    """Write the request before anything is sent; False when a racing request of the same
    CPF and channel took its place (then nothing may be sent)."""
    last = await session.scalar(
        select(func.max(DebtorCodeSend.seq)).where(
            DebtorCodeSend.cpf_hash == cpf_hash, DebtorCodeSend.channel == channel
        )
    )
    seq = 0 if last is None else int(last) + 1
    session.add(DebtorCodeSend(cpf_hash=cpf_hash, ip=ip, channel=channel, seq=seq, at=now))
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        return False
    return True

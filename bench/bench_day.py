"""A realistic day, compressed: the production shape under mixed load on loopback.

`quita.cluster.Cluster` (what `make cluster` runs: 2 web processes, 2 workers, the
scheduler) on PostgreSQL and RabbitMQ, with a creditor of N debtors. For D seconds:

- people look up their CPF, prove it, read their debts, open an offer and accept it,
  read their agreement and pay its first installment by card through the local test
  gateway (localstripe, started by the bench), whose signed webhook confirms it while
  their payment page asks (each person once);
- staff sign in and browse: home, the account list with a search, an account, the
  dashboard; and every so often import a small portfolio file;
- the payment gateway also posts signed `payment_intent.succeeded` webhooks for
  payments made elsewhere (agreements made before the day).

Prints requests, requests/s, p50 and p99 per route and the errors, then the ratio of
the whole mix's throughput to `/ping` on the same cluster (the baseline: the cost of the
stack with no work). Every accepted agreement and every payment is then checked in the
database: each exactly once, and each card payment counted once.

    .venv/bin/python bench/bench_day.py [--debtors N] [--seconds D] [--people C] [--staff S]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_import import _admin, _cnpj  # noqa: E402
from core.settings import PaymentSettings  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
STAFF_PASSWORD = "bench-day-password-2026"  # noqa: S105 - a throwaway bench database
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _token_of(page: httpx.Response) -> dict[str, str]:
    """The CSRF field of a page's forms (bound to the session that page was shown in)."""
    found = CSRF.search(page.text)
    return {"_csrf_token": found.group(1)} if found else {}


FIELD = re.compile(r'<input type="hidden" name="(key|total|valid_until)" value="([^"]*)"')
OFFER = re.compile(r'href="(/ofertas/[^"]+)"')
KEY = re.compile(r'name="key" value="([0-9a-f]+)"')


def _cpf(n: int) -> str:
    digits = [int(d) for d in f"{100_000_000 + n:09d}"]
    for size in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(size + 1, 1, -1), strict=False))
        digits.append((total * 10) % 11 % 10)
    return "".join(map(str, digits))


def _born(n: int) -> date:
    return date(1950 + n % 50, 1 + n % 12, 1 + n % 28)


async def _seed(url: str, debtors: int, staff: int) -> tuple[list[str], list[str]]:
    """The creditor, its debtors and staff, and pending payments for the webhooks."""
    from sqlalchemy import insert

    from collection.accounts.creditors import create_tenant
    from collection.models import (
        Agreement,
        AgreementInstallment,
        Contact,
        ContactKind,
        Debt,
        DebtItem,
        Debtor,
        Payment,
        PaymentMethod,
        PaymentStatus,
        Portfolio,
    )
    from core.db import Database, Scope
    from core.security import keyed_hash
    from core.settings import Settings
    from tenants.roles import Role
    from tenants.services.directory import add_tenant_member, ensure_user

    key = Settings().security.cpf_hash_key
    db = Database(url)
    emails, intents = [], []
    today = date.today()
    try:
        async with db.session(Scope.system()) as session:
            tenant = await create_tenant(
                session,
                slug="dia",
                name="Credor do Dia",
                legal_name="Credor do Dia Ltda.",
                cnpj=_cnpj(),
                address="Rua A, 1, São Paulo/SP",
            )
            tenant.stripe_account = "acct_day"
            await session.flush()
            for n in range(staff):
                email = f"staff{n}@dia.test"
                user = await ensure_user(
                    session, email=email, name=f"Staff {n}", password=STAFF_PASSWORD
                )
                await session.flush()
                add_tenant_member(session, tenant, user, Role.ANALYST if n else Role.OWNER)
                emails.append(email)
            portfolio = Portfolio(id=uuid.uuid4(), tenant_id=tenant.id, name="Carteira")
            session.add(portfolio)
            await session.flush()
            rows: dict[str, list[dict[str, object]]] = defaultdict(list)
            for n in range(debtors):
                debtor_id, debt_id = uuid.uuid4(), uuid.uuid4()
                due = today - timedelta(days=40 + n % 400)
                cpf = _cpf(n)
                rows["debtors"].append(
                    {
                        "id": debtor_id,
                        "tenant_id": tenant.id,
                        "cpf": cpf,
                        "cpf_hash": keyed_hash(key, cpf),
                        "name": f"Pessoa do Dia {n}",
                        "birth_date": _born(n),
                        "state": "SP",
                        "city": "São Paulo",
                    }
                )
                rows["contacts"].append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant.id,
                        "debtor_id": debtor_id,
                        "kind": ContactKind.EMAIL,
                        "value": f"pessoa{n}@example.test",
                    }
                )
                rows["debts"].append(
                    {
                        "id": debt_id,
                        "tenant_id": tenant.id,
                        "portfolio_id": portfolio.id,
                        "debtor_id": debtor_id,
                        "contract": f"DIA-{n}",
                        "original_amount": 50_000 + n % 7 * 10_000,
                        "due_date": due,
                    }
                )
                rows["items"].append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant.id,
                        "debt_id": debt_id,
                        "number": 1,
                        "due_date": due,
                        "amount": 50_000 + n % 7 * 10_000,
                    }
                )
            for n in range(debtors // 2):  # half of them already have a plan to pay
                agreement_id = uuid.uuid4()
                rows["agreements"].append(
                    {
                        "id": agreement_id,
                        "tenant_id": tenant.id,
                        "debtor_id": rows["debtors"][debtors - 1 - n]["id"],
                        "offer_code": "cash",
                        "kind": "cash",
                        "status": "awaiting_first_payment",
                        "balance": 10_000,
                        "discount": 0,
                        "total": 10_000,
                        "down_payment": 0,
                        "monthly_rate": "0",
                        "cet_yearly": "0",
                        "grace_days": 5,
                        "accepted_on": today,
                        "idempotency_key": f"day-{n}",
                        "terms": {},
                    }
                )
                rows["installments"].append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant.id,
                        "agreement_id": agreement_id,
                        "number": 1,
                        "due_date": _business_day(today + timedelta(days=7)),
                        "amount": 10_000,
                        "paid": 0,
                    }
                )
                intent = f"pi_day_{n:06d}"
                intents.append(intent)
                rows["payments"].append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant.id,
                        "agreement_id": agreement_id,
                        "installment_number": 1,
                        "method": PaymentMethod.CARD,
                        "amount": 10_000,
                        "status": PaymentStatus.PENDING,
                        "idempotency_key": f"pay-day-{n}",
                        "provider_id": intent,
                    }
                )
            for model, name in (
                (Debtor, "debtors"),
                (Contact, "contacts"),
                (Debt, "debts"),
                (DebtItem, "items"),
                (Agreement, "agreements"),
                (AgreementInstallment, "installments"),
                (Payment, "payments"),
            ):
                for start in range(0, len(rows[name]), 2000):
                    await session.execute(insert(model), rows[name][start : start + 2000])
            await session.commit()
    finally:
        await db.dispose()
    return emails, intents


def _business_day(day: date) -> date:
    import holidays

    national = holidays.country_holidays("BR", years=day.year)
    while day.weekday() >= 5 or day in national:
        day += timedelta(days=1)
    return day


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)

    async def call(
        self,
        client: httpx.AsyncClient,
        route: str,
        method: str,
        url: str,
        ok: tuple[int, ...],
        **kw,
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)
        except httpx.HTTPError:
            self.errors[route] += 1
            self.latencies[route].append(time.perf_counter() - started)
            return None
        self.latencies[route].append(time.perf_counter() - started)
        if response.status_code not in ok:
            self.errors[route] += 1
        return response


async def _card(gateway: httpx.AsyncClient) -> str:
    """What Stripe.js does in the browser: the card goes to the gateway, Quita gets an id."""
    answer = await gateway.post(
        "/v1/payment_methods",
        data={
            "type": "card",
            "card[number]": "4242424242424242",
            "card[exp_month]": "12",
            "card[exp_year]": "2031",
            "card[cvc]": "123",
        },
    )
    answer.raise_for_status()
    return str(answer.json()["id"])


async def _person(
    base: str,
    rec: Recorder,
    n: int,
    accepted: dict[str, str],
    paid: dict[str, str],
    gateway: httpx.AsyncClient,
) -> None:
    cpf, born = _cpf(n), _born(n).strftime("%d/%m/%Y")
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        home = await rec.call(c, "GET /", "GET", "/", (200,))
        if home is None or not (token := CSRF.search(home.text)):
            return
        form = {"_csrf_token": token.group(1)}
        await rec.call(
            c, "POST /consulta", "POST", "/consulta", (302, 303), data={**form, "cpf": cpf}
        )
        verify = await rec.call(c, "GET /verificar", "GET", "/verificar", (200,))
        # Each form carries its own page's token: the CSRF token is bound to the session.
        if verify is None or not (token := CSRF.search(verify.text)):
            return
        form = {"_csrf_token": token.group(1)}
        await rec.call(
            c,
            "POST /verificar",
            "POST",
            "/verificar",
            (302, 303),
            data={**form, "birth_date": born},
        )
        page = await rec.call(c, "GET /minhas-dividas", "GET", "/minhas-dividas", (200,))
        if page is None or not (link := OFFER.search(page.text)):
            return
        offer = await rec.call(c, "GET /ofertas/{t}/{code}", "GET", link.group(1), (200,))
        if offer is None:
            return
        fields = {**dict(FIELD.findall(offer.text)), **_token_of(offer)}
        done = await rec.call(
            c, "POST …/aceitar", "POST", f"{link.group(1)}/aceitar", (302, 303), data=fields
        )
        if done is None or done.status_code not in (302, 303):
            return
        agreement = accepted[cpf] = done.headers["location"]
        await rec.call(c, "GET /acordos/{id}", "GET", agreement, (200,))
        card = await rec.call(c, "GET …/pagar/cartao", "GET", f"{agreement}/pagar/cartao", (200,))
        if card is None or not (key := KEY.search(card.text)):
            return
        answer = await rec.call(
            c,
            "POST …/pagamentos",
            "POST",
            f"{agreement}/pagamentos",
            (200,),
            data={
                "method": "card",
                "key": key.group(1),
                "payment_method": await _card(gateway),
                **_token_of(card),
            },
            headers={"accept": "application/json"},
        )
        if answer is None or answer.status_code != 200:
            return
        status_url = answer.json()["url"]
        for _ in range(30):  # the page asks every few seconds until the webhook confirms
            status = await rec.call(
                c,
                "GET /pagamentos/{id}",
                "GET",
                status_url,
                (200,),
                headers={"hx-request": "true"},
            )
            if status is not None and "hx-trigger" not in status.text:
                paid[cpf] = agreement
                return
            await asyncio.sleep(1)


def _import_file(k: int) -> bytes:
    header = "Nome;CPF;Data de Nascimento;E-mail;Contrato;Parcela;Vencimento;Valor Original\r\n"
    lines = [
        f"Importada {k}-{i};{_cpf(900_000 + k * 100 + i)};01/01/1980;imp{k}x{i}@example.test;"
        f"IMP-{k}-{i};1;10/01/2026;150,00"
        for i in range(50)
    ]
    return (header + "\r\n".join(lines) + "\r\n").encode()


async def _staff(base: str, rec: Recorder, email: str, deadline: float, k: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        page = await c.get("/portal/")
        token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        signed = await rec.call(
            c,
            "POST /portal/login",
            "POST",
            "/portal/login",
            (302, 303),
            data={"email": email, "password": STAFF_PASSWORD, "_csrf_token": token},
        )
        if signed is None:
            return
        rng = random.Random(k)
        rounds = 0
        while time.monotonic() < deadline:
            await rec.call(c, "GET /portal/home", "GET", "/portal/home", (200,))
            listing = await rec.call(
                c,
                "GET /portal/debtors?q=",
                "GET",
                "/portal/debtors",
                (200,),
                params={"q": f"Pessoa do Dia {rng.randrange(1000)}"},
            )
            if listing is not None and (
                m := re.search(r'href="(/portal/debtors/[0-9a-f-]+)"', listing.text)
            ):
                await rec.call(c, "GET /portal/debtors/{id}", "GET", m.group(1), (200,))
            await rec.call(c, "GET /portal/painel", "GET", "/portal/painel", (200,))
            if rounds % 10 == 9:
                imports = await c.get("/portal/imports")
                csrf = CSRF.search(imports.text)
                if csrf:
                    await rec.call(
                        c,
                        "POST /portal/imports",
                        "POST",
                        "/portal/imports",
                        (302, 303),
                        data={"portfolio": f"Dia {k}-{rounds}", "_csrf_token": csrf.group(1)},
                        files={
                            "file": (
                                f"dia-{k}-{rounds}.csv",
                                _import_file(k * 1000 + rounds),
                                "text/csv",
                            )
                        },
                    )
            rounds += 1


def _signed(intent: str, n: int, secret: str) -> tuple[bytes, str]:
    stamp = int(time.time())
    body = json.dumps(
        {
            "id": f"evt_day_{n:06d}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": stamp,
            "account": "acct_day",
            "data": {
                "object": {
                    "id": intent,
                    "object": "payment_intent",
                    "amount": 10_000,
                    "amount_received": 10_000,
                    "status": "succeeded",
                }
            },
        }
    ).encode()
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return body, f"t={stamp},v1={mac.hexdigest()}"


async def _gateway(
    bases: list[str],
    rec: Recorder,
    intents: list[str],
    deadline: float,
    sent: set[str],
    secret: str,
) -> None:
    """The gateway's own webhooks for payments made elsewhere (Pix, boleto, earlier)."""
    async with httpx.AsyncClient(timeout=30) as c:
        for n, intent in enumerate(intents):
            if time.monotonic() > deadline:
                return
            body, signature = _signed(intent, n, secret)
            response = await rec.call(
                c,
                "POST /webhooks/stripe",
                "POST",
                f"{bases[n % len(bases)]}/webhooks/stripe",
                (200,),
                content=body,
                headers={"stripe-signature": signature, "content-type": "application/json"},
            )
            if response is not None and response.status_code == 200:
                sent.add(intent)
            await asyncio.sleep(0.02)  # the gateway's own pace: ~50 events/s


async def _ping(bases: list[str], seconds: float, concurrency: int) -> float:
    count = 0
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        nonlocal count
        async with httpx.AsyncClient(base_url=bases[n % len(bases)], timeout=10) as c:
            while time.monotonic() < deadline:
                await c.get("/ping")
                count += 1

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return count / seconds


@dataclass
class Day:
    """What happened: agreements accepted and paid by card, gateway events sent."""

    rec: Recorder
    seconds: float
    accepted: dict[str, str]
    paid: dict[str, str]
    sent: set[str]


async def _day(
    bases: list[str],
    args: argparse.Namespace,
    emails: list[str],
    intents: list[str],
    payments: PaymentSettings,
) -> Day:
    rec = Recorder()
    accepted: dict[str, str] = {}
    paid: dict[str, str] = {}
    sent: set[str] = set()
    gateway = httpx.AsyncClient(
        base_url=payments.api_base, auth=(payments.secret_key, ""), timeout=30
    )
    started = time.monotonic()
    deadline = started + args.seconds
    people = iter(range(args.debtors // 2))  # the half without an agreement yet

    async def person_loop(v: int) -> None:
        while time.monotonic() < deadline:
            n = next(people, None)
            if n is None:
                return
            await _person(bases[v % len(bases)], rec, n, accepted, paid, gateway)

    async with gateway:
        await asyncio.gather(
            *(person_loop(v) for v in range(args.people)),
            *(
                _staff(bases[k % len(bases)], rec, emails[k], deadline, k)
                for k in range(args.staff)
            ),
            _gateway(bases, rec, intents, deadline, sent, payments.webhook_secret),
        )
    return Day(rec, time.monotonic() - started, accepted, paid, sent)


async def _check(url: str, day: Day) -> tuple[int, int, int, int]:
    """(agreements accepted once, card payments counted once, gateway payments applied
    once, anomalies)."""
    accepted, sent = day.accepted, day.sent
    from sqlalchemy import func, select

    from collection.models import Agreement, AgreementInstallment, Debtor, Payment, PaymentStatus
    from core.db import Database, Scope

    db = Database(url)
    try:
        async with db.session(Scope.system()) as session:
            per_person = dict(
                (
                    await session.execute(
                        select(Debtor.cpf, func.count(Agreement.id))
                        .join(Agreement, Agreement.debtor_id == Debtor.id)
                        .where(~Agreement.idempotency_key.like("day-%"))
                        .group_by(Debtor.cpf)
                    )
                ).all()
            )
            paid_sum = (
                select(func.sum(AgreementInstallment.paid))
                .where(AgreementInstallment.agreement_id == Payment.agreement_id)
                .scalar_subquery()
            )
            applied: dict[object, object] = dict(
                (
                    await session.execute(
                        select(Payment.provider_id, paid_sum + Agreement.credit)
                        .join(Agreement, Agreement.id == Payment.agreement_id)
                        .where(Payment.status == PaymentStatus.SUCCEEDED)
                    )
                ).all()
            )
    finally:
        await db.dispose()
    anomalies = sum(1 for cpf in accepted if per_person.get(cpf) != 1)
    anomalies += sum(1 for cpf, count in per_person.items() if count != 1)
    once = sum(1 for cpf in accepted if per_person.get(cpf) == 1)
    received = {str(k): int(Decimal(str(v or 0))) for k, v in applied.items()}
    anomalies += sum(1 for i in sent if received.get(i, 0) not in (0, 10_000))  # never twice
    cards = await _card_payments(url, {a.rsplit("/", 1)[1] for a in day.paid.values()})
    anomalies += sum(1 for counted in cards.values() if counted != 1)
    return (
        once,
        sum(1 for counted in cards.values() if counted == 1),
        sum(1 for i in sent if received.get(i) == 10_000),
        anomalies,
    )


async def _card_payments(url: str, agreement_ids: set[str]) -> dict[str, int]:
    """For each agreement paid by card: how many times its installment was counted (the
    amounts received over the amount of its succeeded payment; 1 is right)."""
    from sqlalchemy import func, select

    from collection.models import Agreement, AgreementInstallment, Payment, PaymentStatus
    from core.db import Database, Scope

    db = Database(url)
    try:
        async with db.session(Scope.system()) as session:
            paid_sum = (
                select(func.sum(AgreementInstallment.paid))
                .where(AgreementInstallment.agreement_id == Agreement.id)
                .scalar_subquery()
            )
            rows = (
                await session.execute(
                    select(Agreement.id, func.sum(Payment.amount), paid_sum + Agreement.credit)
                    .join(Payment, Payment.agreement_id == Agreement.id)
                    .where(
                        Payment.status == PaymentStatus.SUCCEEDED,
                        Agreement.id.in_([uuid.UUID(a) for a in agreement_ids]),
                    )
                    .group_by(Agreement.id, Agreement.credit)
                )
            ).all()
    finally:
        await db.dispose()
    counted = {str(a): int(Decimal(str(r or 0))) // max(1, int(p)) for a, p, r in rows}
    return {a: counted.get(a, 0) for a in agreement_ids}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--people", type=int, default=16, help="concurrent debtors")
    parser.add_argument("--staff", type=int, default=4, help="concurrent staff")
    args = parser.parse_args()
    from integrations import local_gateway
    from quita.cluster import Cluster

    name = f"quita_day_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(PG, f'CREATE DATABASE "{name}"'))
    url = f"{PG.rsplit('/', 1)[0]}/{name}"
    cluster: Cluster | None = None
    gateway = local_gateway.start()
    try:
        logs = ROOT / "test-artifacts"
        logs.mkdir(exist_ok=True)
        with (
            tempfile.TemporaryDirectory() as tmp,
            open(logs / "bench-day-cluster.log", "wb") as log,
        ):
            cluster = Cluster(
                database_url=url,
                base_port=18_601,
                var_dir=Path(tmp),
                queue_prefix=f"day{uuid.uuid4().hex[:6]}-",
                extra_env={
                    "STRIPE_SECRET_KEY": gateway.settings.secret_key,
                    "STRIPE_PUBLISHABLE_KEY": gateway.settings.publishable_key,
                    "STRIPE_WEBHOOK_SECRET": gateway.settings.webhook_secret,
                    "STRIPE_API_BASE": gateway.settings.api_base,
                    "STRIPE_JS_URL": gateway.settings.js_url,
                    "LOG_LEVEL": "WARNING",
                },
                log_to=log,
            )
            cluster.prepare()
            async_url = url.replace("postgresql://", "postgresql+asyncpg://")
            emails, intents = asyncio.run(_seed(async_url, args.debtors, args.staff))
            cluster.start(within=90)
            bases = cluster.urls
            # The fake gateway confirms card payments with its signed webhook, as Stripe.
            gateway.send_webhooks_to(f"{bases[0]}/webhooks/stripe")
            ping = asyncio.run(_ping(bases, 10, args.people + args.staff))
            day = asyncio.run(_day(bases, args, emails, intents, gateway.settings))
            time.sleep(15)  # let the workers apply the last webhooks
            once, cards, applied, anomalies = asyncio.run(_check(async_url, day))
    finally:
        if cluster is not None:
            cluster.stop()
        gateway.stop()
        asyncio.run(_admin(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    rec, seconds, accepted, sent = day.rec, day.seconds, day.accepted, day.sent
    total = sum(len(v) for v in rec.latencies.values())
    errors = sum(rec.errors.values())
    print(
        f"day: {seconds:.0f} s, 2 web + 2 workers + scheduler, {args.people} people "
        f"and {args.staff} staff at once, gateway ~50 events/s"
    )
    print(f"{'route':<28} {'requests':>9} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for route in sorted(rec.latencies):
        values = sorted(rec.latencies[route])
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(
            f"{route:<28} {len(values):>9,} {len(values) / seconds:>7.1f} "
            f"{statistics.median(values) * 1000:>8.1f} {p99 * 1000:>8.1f} {rec.errors[route]:>7}"
        )
    rate = total / seconds
    print(f"all routes: {total:,} requests, {rate:.0f} req/s, {errors} errors")
    print(
        f"agreements accepted: {len(accepted)} (exactly once in the database: {once}); "
        f"paid by card: {len(day.paid)} (counted once: {cards}); gateway webhooks for "
        f"other payments: {len(sent)} (applied once: {applied}); anomalies: {anomalies}"
    )
    print(
        f"baseline /ping on the same cluster: {ping:.0f} req/s; "
        f"ratio of the day's mix to it: {rate / ping:.2f}"
    )
    if (
        errors
        or anomalies
        or once != len(accepted)
        or cards != len(day.paid)
        or applied != len(sent)
    ):
        sys.exit(1)


if __name__ == "__main__":
    main()

"""The debtor site under load: a verified person's debts-and-offers page.

100,000 debtors (300,000 installments, imported by Quita) in PostgreSQL, the production
server as 2 `quita web` processes, 32 concurrent clients for 30 s on loopback, spread
over both processes. Prints requests/s, p50/p99 and errors for the page and for the
plain-text `/ping` of the same server, and the ratio between them.
Target (issue 6): p99 under 100 ms, ratio at least 0.3, no errors.

    .venv/bin/python bench/bench_debtor_site.py [--debtors N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_import import _admin, _cnpj, _cpf, generate  # noqa: E402
from core.secrets_box import SecretsBox  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-" + "x" * 32


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _seed(url: str, rows: int, folder: Path) -> None:
    from collection.importing import ImportLimits
    from collection.services.imports import PortfolioImporter
    from core.db import Database, Scope
    from tenants.services.directory import create_tenant

    path = folder / "portfolio.csv"
    generate(path, rows)
    db = Database(url)
    try:
        async with db.session(Scope.system()) as session:
            tenant = await create_tenant(
                session,
                slug="bench-site",
                name="Bench",
                legal_name="Bench Ltda.",
                cnpj=_cnpj(),
                address="",
            )
            await session.commit()
        importer = PortfolioImporter(
            db, cpf_hash_key=SECRET, limits=ImportLimits(max_bytes=2 * 1024**3)
        )
        await importer.run(
            tenant.id,
            path,
            portfolio="Bench",
            today=date(2026, 11, 1),
            now=datetime.now(UTC),
            dry_run=False,
        )
    finally:
        await db.dispose()


async def _verified_cookie(base: str, person: int) -> httpx.Cookies:
    cpf = _cpf(person)
    born = f"1{person % 9}/0{1 + person % 9}/{1950 + person % 50:04d}"
    async with httpx.AsyncClient(base_url=base, follow_redirects=False) as client:
        home = await client.get("/")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]
        await client.post("/consulta", data={"cpf": cpf, "_csrf_token": token})
        verify = await client.get("/verificar")  # its token is bound to the new session
        token = re.search(r'name="_csrf_token" value="([^"]+)"', verify.text).group(1)  # type: ignore[union-attr]
        done = await client.post("/verificar", data={"birth_date": born, "_csrf_token": token})
        if done.status_code != 302 or done.headers.get("location") != "/minhas-dividas":
            raise RuntimeError(f"verification failed: {done.status_code}")
        return client.cookies


async def _load(
    bases: list[str], path: str, cookies: list[httpx.Cookies], seconds: float, concurrency: int
) -> tuple[int, int, list[float]]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        nonlocal errors
        # The cookies go as a plain header: the server gets the same request, and the
        # client skips the cookie jar's work (urllib request objects built both ways at
        # every request), a cost of the load generator that competes for the same cores.
        jar = cookies[n % len(cookies)]
        header = {"cookie": "; ".join(f"{name}={value}" for name, value in jar.items())}
        async with httpx.AsyncClient(
            base_url=bases[n % len(bases)], headers=header, timeout=10
        ) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.get(path)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return len(latencies), errors, latencies


def _report(name: str, count: int, errors: int, latencies: list[float], seconds: float) -> float:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    rps = count / seconds
    print(
        f"{name:<16} requests={count:,} rps={rps:,.0f} p50={p50:.1f}ms p99={p99:.1f}ms "
        f"errors={errors}"
    )
    return rps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    from quita import migrate

    name = f"quita_site_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(PG, f'CREATE DATABASE "{name}"'))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        url = f"{PG.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://")
        migrate.upgrade(url)
        with tempfile.TemporaryDirectory() as tmp:
            # generate() makes about one person per two contracts of three installments.
            asyncio.run(_seed(url, args.debtors * 6, Path(tmp)))
            env = {
                **os.environ,
                "QUITA_ENV": "production",
                "SECRET_KEY": SECRET,
                "CPF_HASH_KEY": SECRET,
                "QUITA_SECRETS_KEY": SecretsBox.new_key(),
                "DATABASE_URL": url.replace("+asyncpg", ""),
                "BROKER_URL": "redis://127.0.0.1:6379/14",
                "SECURE_COOKIES": "0",
                "LOG_LEVEL": "WARNING",
                "QUITA_VAR_DIR": tmp,
            }
            ports = [_free_port(), _free_port()]
            quita = str(Path(sys.executable).with_name("quita"))
            for port in ports:
                procs.append(
                    subprocess.Popen(
                        [quita, "web", "--port", str(port)],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            bases = [f"http://127.0.0.1:{p}" for p in ports]
            for base in bases:
                for _ in range(100):
                    try:
                        if httpx.get(f"{base}/ping", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.2)

            async def run() -> None:
                people = [100_000_000 + k * 7919 % (args.debtors // 2) for k in range(16)]
                cookies = [await _verified_cookie(bases[i % 2], p) for i, p in enumerate(people)]
                page = await _load(
                    bases, "/minhas-dividas", cookies, args.seconds, args.concurrency
                )
                plain = await _load(bases, "/ping", cookies, args.seconds, args.concurrency)
                page_rps = _report("/minhas-dividas", *page, args.seconds)
                ping_rps = _report("/ping", *plain, args.seconds)
                print(
                    f"ratio page/ping = {page_rps / ping_rps:.2f} (target >= 0.30); "
                    f"target p99 < 100 ms, no errors; debtors={args.debtors:,}, "
                    f"2 web processes, {args.concurrency} clients, {args.seconds:.0f}s each"
                )

            asyncio.run(run())
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        asyncio.run(_admin(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()

"""The debtor site under load: a verified person's debts-and-offers page, driven by wrk.

100,000 debtors (600,000 installments, imported by Quita) in PostgreSQL, one production
`quita web` process, wrk with 32 connections for 15 s on loopback, each request with the
cookie of one of 16 verified debtor sessions. Prints requests/s, p50/p99 and errors for
the page and for the plain-text `/ping` of the same process in the same run, and the
ratio, for each round. Targets (issue 19): >= 1,200 req/s, p99 < 60 ms, ratio >= 0.15,
no errors.

    .venv/bin/python bench/bench_debtor_site.py [--debtors N] [--seconds S] [--rounds R]
        [--database NAME]   # keep the seeded database and reuse it on the next run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
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

from bench import wrk  # noqa: E402
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
    from collection.accounts.creditors import create_tenant
    from collection.imports.loader import PortfolioImporter
    from collection.imports.reading import ImportLimits
    from core.db import Database, Scope

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
        # As a browser does: the first page rebinds the CSRF cookie to the verified session.
        await client.get("/minhas-dividas")
        return client.cookies


def _server_env(url: str, tmp: str) -> dict[str, str]:
    return {
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


def start_web(env: dict[str, str], *, processes: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """One ``quita web`` (``processes`` > 1: that many on one port), ready on /ping."""
    port = _free_port()
    quita = str(Path(sys.executable).with_name("quita"))
    argv = [quita, "web", "--port", str(port)]
    if processes > 1:
        argv += ["--processes", str(processes)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/ping", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("quita web did not start")


async def _database_ready(url: str) -> bool:
    """Whether a kept bench database already holds the seeded creditor."""
    import asyncpg

    try:
        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        return bool(
            await conn.fetchval(
                "SELECT count(*) FROM tenants WHERE slug = 'bench-site'",
            )
        )
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="page and /ping, alternated")
    parser.add_argument("--processes", type=int, default=1, help="web processes on one port")
    parser.add_argument(
        "--database",
        help="keep the seeded database under this name and reuse it (drop it yourself)",
    )
    args = parser.parse_args()
    wrk.require_wrk()
    from quita import migrate

    name = args.database or f"quita_site_bench_{uuid.uuid4().hex[:8]}"
    url = f"{PG.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://")
    proc: subprocess.Popen[bytes] | None = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if not asyncio.run(_database_ready(url)):
                asyncio.run(_admin(PG, f'CREATE DATABASE "{name}"'))
                migrate.upgrade(url)
                # generate() makes about one person per two contracts of three installments.
                asyncio.run(_seed(url, args.debtors * 6, Path(tmp)))
            proc, base = start_web(_server_env(url, tmp), processes=args.processes)
            people = [100_000_000 + k * 7919 % (args.debtors // 2) for k in range(16)]

            async def sessions() -> list[str]:
                jars = [await _verified_cookie(base, p) for p in people]
                return ["; ".join(f"{k}={v}" for k, v in jar.items()) for jar in jars]

            cookies = asyncio.run(sessions())
            load = {"seconds": args.seconds, "connections": args.connections}
            wrk.get("warm-up", f"{base}/minhas-dividas", cookies=cookies, seconds=3)
            for _ in range(args.rounds):
                page = wrk.get("/minhas-dividas", f"{base}/minhas-dividas", cookies=cookies, **load)
                ping = wrk.get("/ping", f"{base}/ping", **load)
                print(wrk.beside(page, ping), flush=True)
            print(
                f"targets: /minhas-dividas >= 1,200 req/s, p99 < 60 ms, ratio >= 0.15, no "
                f"errors; {args.debtors:,} debtors, {args.processes} web process(es), wrk "
                f"{args.connections} connections, {args.seconds:.0f}s each; load {_load()}"
            )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if not args.database:
            asyncio.run(_admin(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()

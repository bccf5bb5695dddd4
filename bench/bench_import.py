"""Portfolio import speed and memory against a bare COPY of the same file.

PostgreSQL: a generated 1,000,000-row CSV (pt-BR, `;`, ~10 columns) imported by Quita
(streamed read, validation, staging COPY, set-based upsert into indexed tables) vs a
bare ``COPY`` of the same file into an unindexed table of text columns, same server,
same run. SQLite: 100,000 rows, rows/s. Target (issue 5): ratio ≤ 2.0, peak RSS < 300 MB.

    .venv/bin/python bench/bench_import.py [--rows N] [--sqlite-rows N] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collection.domain.documents import complete_cnpj, complete_cpf  # noqa: E402

HEADER = "Nome;CPF;Data de Nascimento;E-mail;Celular;Contrato;Parcela;Vencimento;Valor;Produto\n"
FIRST = ["Ana", "Maria", "José", "João", "Antônio", "Francisca", "Carlos", "Paulo", "Pedro"]
LAST = ["Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira"]


def _cpf(n: int) -> str:
    return complete_cpf(f"{n:09d}")


def generate(path: Path, rows: int) -> None:
    """Three installments per contract, about two contracts per person."""
    rng = random.Random(7)
    base = date(2025, 1, 5)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for i in range(rows):
            contract = i // 3
            person = 100_000_000 + contract // 2
            cpf = _cpf(person)
            name = f"{FIRST[person % 9]} {LAST[person % 8]} {LAST[(person // 8) % 8]}"
            due = base + timedelta(days=30 * (i % 3) + contract % 200)
            cents = rng.randint(5_000, 500_000)
            out.write(
                f"{name};{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]};{1950 + person % 50:04d}-0"
                f"{1 + person % 9}-1{person % 9};p{person}@exemplo.com.br;(11) 9{person % 10000:04d}"  # noqa: E501
                f"-{contract % 10000:04d};CT{contract:08d};{i % 3 + 1};{due:%d/%m/%Y};"
                f"{cents // 100:,}".replace(",", ".")
                + f",{cents % 100:02d};Cartão\n"
            )


async def _copy_baseline(admin_url: str, db_name: str, path: Path) -> float:
    import asyncpg

    conn = await asyncpg.connect(f"{admin_url.rsplit('/', 1)[0]}/{db_name}")
    try:
        await conn.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS bench_copy (nome text, cpf text,"
            " nascimento text, email text, celular text, contrato text, "
            "parcela text, vencimento text, valor text, produto text)"
        )
        await conn.execute("TRUNCATE bench_copy")
        start = time.perf_counter()
        with path.open("rb") as source:
            await conn.copy_to_table(
                "bench_copy", source=source, format="csv", delimiter=";", header=True
            )
        return time.perf_counter() - start
    finally:
        await conn.close()


async def _import(url: str, path: Path) -> tuple[float, int, dict[str, object]]:
    from collection.importing import ImportLimits
    from collection.services.imports import PortfolioImporter
    from core.db import Database, Scope
    from tenants.services.directory import create_tenant

    db = Database(url)
    try:
        async with db.session(Scope.system()) as session:
            tenant = await create_tenant(
                session,
                slug=f"bench-{uuid.uuid4().hex[:8]}",
                name="Bench",
                legal_name="Bench Ltda.",
                cnpj=_cnpj(),
                address="",
            )
            await session.commit()
            tenant_id = tenant.id
        importer = PortfolioImporter(
            db, cpf_hash_key="bench-key" * 4, limits=ImportLimits(max_bytes=2 * 1024**3)
        )
        start = time.perf_counter()
        summary = await importer.run(
            tenant_id,
            path,
            portfolio="Bench",
            today=date(2026, 11, 1),
            now=datetime.now(UTC),
            dry_run=False,
        )
        elapsed = time.perf_counter() - start
    finally:
        await db.dispose()
    return (
        elapsed,
        summary.accepted,
        {"created": summary.created, "rejected": summary.rejected_total},
    )


def _cnpj() -> str:
    return complete_cnpj(f"{random.randrange(10**8):08d}0001")


def child(url: str, path: str) -> None:
    """Run one import in this process and report time, rows and peak RSS."""
    elapsed, rows, extra = asyncio.run(_import(url, Path(path)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{elapsed:.3f} {rows} {peak_mb:.1f} {extra['created']} {extra['rejected']}")


def _run_child(url: str, path: Path) -> tuple[float, int, float, int, int]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), int(out[1]), float(out[2]), int(out[3]), int(out[4])


async def _admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sqlite-rows", type=int, default=100_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from quita import migrate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small = folder / "small.csv"
        generate(small, args.sqlite_rows)
        sqlite_url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        migrate.upgrade(sqlite_url)
        elapsed, rows, peak, created, _ = _run_child(sqlite_url, small)
        print(
            f"sqlite   rows={rows:,} time={elapsed:.1f}s rows/s={rows / elapsed:,.0f} "
            f"debts={created:,} peak_rss={peak:.0f}MB"
        )

        big = folder / "big.csv"
        generate(big, args.rows)
        size_mb = big.stat().st_size / 1024**2
        name = f"quita_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(args.pg, f'CREATE DATABASE "{name}"'))
        try:
            url = f"{args.pg.rsplit('/', 1)[0]}/{name}".replace(
                "postgresql://", "postgresql+asyncpg://"
            )
            migrate.upgrade(url)
            copy_s = asyncio.run(_copy_baseline(args.pg, name, big))
            elapsed, rows, peak, created, rejected = _run_child(url, big)
        finally:
            asyncio.run(_admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        ratio = elapsed / copy_s
        print(
            f"postgres rows={rows:,} file={size_mb:.0f}MB copy={copy_s:.1f}s "
            f"import={elapsed:.1f}s rows/s={rows / elapsed:,.0f} debts={created:,} "
            f"rejected={rejected} ratio_vs_copy={ratio:.2f} (target <= 2.00) "
            f"peak_rss={peak:.0f}MB (target < 300)"
        )


if __name__ == "__main__":
    main()

"""Portfolio import speed and memory against a bare COPY of the same file.

PostgreSQL: a generated 1,000,000-row CSV (pt-BR, `;`, ~10 columns) imported by Quita
(streamed read, validation, staging COPY, set-based upsert into indexed tables) vs a
bare ``COPY`` of the same file into an unindexed table of text columns, same server,
same run. SQLite: 100,000 rows, rows/s. Target (issue 5): ratio ≤ 2.0, peak RSS < 300 MB.

The *floor* is what the indexed tables cost at all: the same file ``COPY``-ed into a
temporary staging table and moved with plain ``INSERT … SELECT`` into debtors, contacts,
debts and debt_items (no validation, no conflict handling), in a fresh tenant, in one
transaction, as the application role with the tenant's row-level-security settings. It
runs in a copy of the freshly migrated database, so it starts from the same empty tables
as the import.

    .venv/bin/python bench/bench_import.py [--rows N] [--sqlite-rows N] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
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


# The floor's statements (:tenant, :portfolio, :now are bound). Only what the tables need:
# text to typed values, one debtor per CPF, one debt per contract (no checks at all).
_FLOOR_SQL = (
    # The importer's memory setting for its set-wise statements.
    "SET LOCAL work_mem = '64MB'",
    """CREATE TEMPORARY TABLE floor_staging (nome text, cpf text, nascimento text,
        email text, celular text, contrato text, parcela text, vencimento text, valor text,
        produto text) ON COMMIT DROP""",
    "COPY",
    "ANALYZE floor_staging",
    """INSERT INTO portfolios (id, tenant_id, name, created_at)
        VALUES (:portfolio, :tenant, 'Floor', :now)""",
    """INSERT INTO debtors (id, tenant_id, cpf, cpf_hash, name, birth_date, address, city,
                           state, zip_code, created_at)
        SELECT gen_random_uuid(), :tenant, p.cpf, encode(sha256(convert_to(p.cpf, 'UTF8')), 'hex'),
               p.nome, p.nascimento::date, '', '', '', '', :now
        FROM (SELECT DISTINCT ON (cpf) translate(cpf, '.-', '') AS cpf, nome, nascimento
              FROM floor_staging ORDER BY cpf) p""",
    """INSERT INTO contacts (id, tenant_id, debtor_id, kind, value, whatsapp_opt_in,
                            created_at)
        SELECT gen_random_uuid(), :tenant, d.id, c.kind, c.value, false, :now
        FROM (SELECT DISTINCT translate(cpf, '.-', '') AS cpf, 'email' AS kind, email AS value
              FROM floor_staging
              UNION
              SELECT DISTINCT translate(cpf, '.-', ''), 'phone', celular FROM floor_staging) c
        JOIN debtors d ON d.tenant_id = :tenant AND d.cpf = c.cpf""",
    """INSERT INTO debts (id, tenant_id, portfolio_id, debtor_id, contract, product,
                         original_amount, due_date, status, created_at)
        SELECT gen_random_uuid(), :tenant, :portfolio, d.id, c.contrato, c.produto, c.amount,
               c.due, 'open', :now
        FROM (SELECT contrato, MAX(translate(cpf, '.-', '')) AS cpf, MAX(produto) AS produto,
                     SUM(replace(replace(valor, '.', ''), ',', '')::bigint) AS amount,
                     MIN(to_date(vencimento, 'DD/MM/YYYY')) AS due
              FROM floor_staging GROUP BY contrato) c
        JOIN debtors d ON d.tenant_id = :tenant AND d.cpf = c.cpf""",
    """INSERT INTO debt_items (id, tenant_id, debt_id, number, due_date, amount)
        SELECT gen_random_uuid(), :tenant, d.id, s.parcela::int,
               to_date(s.vencimento, 'DD/MM/YYYY'),
               replace(replace(s.valor, '.', ''), ',', '')::bigint
        FROM floor_staging s
        JOIN debts d ON d.tenant_id = :tenant AND d.portfolio_id = :portfolio
                    AND d.contract = s.contrato""",
)


async def _floor(url: str, path: Path) -> float:
    """COPY + plain INSERT … SELECT into the indexed tables, in one tenant session."""
    from core.db import Database, Scope

    tenant_id = await _new_tenant(url)
    db = Database(url)
    try:
        start = time.perf_counter()
        # The importer's own unit of work: the session sets the role and the tenant's
        # row-level-security settings when its transaction begins.
        async with db.session(Scope.tenant(tenant_id)) as session:
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            conn = raw.driver_connection
            assert conn is not None
            values = {"tenant": tenant_id, "portfolio": uuid.uuid4(), "now": datetime.now(UTC)}
            for sql in _FLOOR_SQL:
                if sql == "COPY":
                    with path.open("rb") as source:
                        await conn.copy_to_table(
                            "floor_staging", source=source, format="csv", delimiter=";", header=True
                        )
                    continue
                numbered, args = _numbered(sql, values)
                await conn.execute(numbered, *args)
            await session.commit()
        return time.perf_counter() - start
    finally:
        await db.dispose()


def _numbered(sql: str, values: dict[str, object]) -> tuple[str, list[object]]:
    """``:name`` placeholders to asyncpg's ``$n``, with the arguments in that order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    numbered = re.sub(r"(?<!:):(tenant|portfolio|now)\b", number, sql)
    return numbered, [values[name] for name in names]


async def _new_tenant(url: str) -> uuid.UUID:
    from collection.accounts.creditors import create_tenant
    from core.db import Database, Scope

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
            return tenant.id
    finally:
        await db.dispose()


async def _import(url: str, path: Path) -> tuple[float, int, dict[str, object]]:
    from collection.imports.loader import PortfolioImporter
    from collection.imports.reading import ImportLimits
    from core.db import Database

    tenant_id = await _new_tenant(url)
    db = Database(url)
    try:
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
        floor_name = f"{name}_floor"
        asyncio.run(_admin(args.pg, f'CREATE DATABASE "{name}"'))
        try:
            url = _database_url(args.pg, name)
            migrate.upgrade(url)
            # The floor gets its own copy of the freshly migrated database: both it and
            # the import start from the same empty tables.
            asyncio.run(_admin(args.pg, f'CREATE DATABASE "{floor_name}" TEMPLATE "{name}"'))
            copy_s = asyncio.run(_copy_baseline(args.pg, name, big))
            elapsed, rows, peak, created, rejected = _run_child(url, big)
            floor_s = asyncio.run(_floor(_database_url(args.pg, floor_name), big))
        finally:
            for db_name in (name, floor_name):
                asyncio.run(_admin(args.pg, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        ratio = elapsed / copy_s
        print(
            f"postgres rows={rows:,} file={size_mb:.0f}MB copy={copy_s:.1f}s "
            f"import={elapsed:.1f}s rows/s={rows / elapsed:,.0f} debts={created:,} "
            f"rejected={rejected} ratio_vs_copy={ratio:.2f} (target <= 2.00) "
            f"peak_rss={peak:.0f}MB (target < 300)"
        )
        print(
            f"floor    rows={args.rows:,} copy+insert={floor_s:.1f}s "
            f"rows/s={args.rows / floor_s:,.0f} ratio_vs_copy={floor_s / copy_s:.2f} "
            f"import/floor={elapsed / floor_s:.2f} (COPY to staging, plain INSERT … SELECT into "
            "the indexed, row-level-secured tables: no validation, no conflict handling)"
        )


def _database_url(admin_url: str, name: str) -> str:
    return f"{admin_url.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://")


if __name__ == "__main__":
    main()

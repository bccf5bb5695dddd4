"""Portfolio import: stream a validated file into a staging table, then apply it set-wise.

One import is one transaction: the accepted rows are copied into a temporary staging
table (PostgreSQL ``COPY``; batched inserts on SQLite), the counts of debts to create,
update and settle are computed against it, and debtors, contacts, debts and their
installments are upserted with a handful of ``INSERT … SELECT … ON CONFLICT``
statements. A dry run (the preview) does everything and rolls back, so its counts are
exactly what the import will do. Re-importing the same file changes nothing: every
upsert only writes rows whose values differ. Debts in an agreement, paid or written off
are never touched by an import.

The statements are plain SQL (the ORM cannot express them set-wise), so each one
names the tenant explicitly; on PostgreSQL row-level security checks it again.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Uuid

from collection.importing import (
    ColumnMapping,
    Field,
    ImportFileError,
    ImportLimits,
    ImportRow,
    normalize_header,
    open_import,
)
from collection.models import ImportColumnChoice, Portfolio
from core.db import Database, Scope, UTCDateTime

BATCH = 5_000
STAGING_COLUMNS = (
    "line",
    "cpf",
    "cpf_hash",
    "name",
    "birth_date",
    "email",
    "phone",
    "contract",
    "installment",
    "due_date",
    "amount",
    "product",
    "address",
    "city",
    "state",
    "zip",
)
Progress = Callable[[int, int], Awaitable[None]]  # (rows read, percent of the file)


@dataclass
class ImportSummary:
    """What an import did (or, for a dry run, would do)."""

    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    rejected_total: int = 0
    warnings_total: int = 0
    created: int = 0
    updated: int = 0
    settled: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "warnings": self.warnings,
            "created": self.created,
            "updated": self.updated,
            "settled": self.settled,
            "rejected_total": self.rejected_total,
            "warnings_total": self.warnings_total,
            "dry_run": self.dry_run,
        }


class ImportRefused(ValueError):
    """The file as a whole cannot be imported; ``message`` is for the person."""

    def __init__(self, message: str, problem: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.problem = problem


def _cpf_hasher(key: str) -> Callable[[str], str]:
    base = hmac.new(key.encode(), digestmod=hashlib.sha256)

    def digest(cpf: str) -> str:
        h = base.copy()
        h.update(cpf.encode())
        return h.hexdigest()

    return digest


def _staging_tuples(
    rows: Iterable[ImportRow], cpf_hash: Callable[[str], str]
) -> Iterator[tuple[Any, ...]]:
    for r in rows:
        address = ", ".join(p for p in (r.address, r.address_number, r.complement, r.district) if p)
        yield (
            r.line,
            r.cpf,
            cpf_hash(r.cpf),
            r.name[:200],
            r.birth_date,
            r.email,
            r.phone,
            r.contract[:60],
            r.installment,
            r.due_date,
            r.amount,
            (r.product or "")[:120],
            address[:300],
            (r.city or "")[:100],
            (r.state or "")[:2],
            (r.zip or "")[:8],
        )


async def tenant_mapping(session: AsyncSession) -> ColumnMapping:
    """The column choices the tenant made before (header → field)."""
    rows = await session.execute(select(ImportColumnChoice.header, ImportColumnChoice.field))
    return ColumnMapping({header: Field(f) for header, f in rows.all()})


async def remember_mapping(session: AsyncSession, choices: dict[str, Field]) -> None:
    """Store the tenant's choice of field for each header (replacing earlier ones)."""
    existing = {c.header: c for c in (await session.scalars(select(ImportColumnChoice))).all()}
    for header, chosen in choices.items():
        key = normalize_header(header)
        if key in existing:
            existing[key].field = chosen.value
        else:
            session.add(ImportColumnChoice(header=key, field=chosen.value))


class PortfolioImporter:
    """Runs an import of one file into one portfolio of one tenant."""

    def __init__(self, db: Database, *, cpf_hash_key: str, limits: ImportLimits) -> None:
        self.db = db
        self.cpf_hash = _cpf_hasher(cpf_hash_key)
        self.limits = limits

    async def run(
        self,
        tenant_id: uuid.UUID,
        path: Path,
        *,
        portfolio: str,
        today: date,
        now: datetime,
        dry_run: bool,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Import ``path`` (all accepted rows or nothing); raises ImportRefused."""
        summary = ImportSummary(dry_run=dry_run)
        size = max(path.stat().st_size, 1)
        async with self.db.session(Scope.tenant(tenant_id)) as session:
            mapping = await tenant_mapping(session)
            with path.open("rb") as stream:
                try:
                    reader = open_import(stream, mapping=mapping, limits=self.limits, today=today)
                except ImportFileError as exc:
                    raise ImportRefused(exc.message, exc.problem.value) from exc
                with reader:
                    staging = _Staging(session, self.db.is_postgres)
                    await staging.create()
                    try:
                        rows = _staging_tuples(reader.rows(), self.cpf_hash)
                        while batch := list(itertools.islice(rows, BATCH)):
                            await staging.load(batch)
                            summary.accepted += len(batch)
                            if progress is not None:
                                await progress(
                                    summary.accepted, min(99, _position(stream) * 100 // size)
                                )
                    except ImportFileError as exc:
                        raise ImportRefused(exc.message, exc.problem.value) from exc
                    report = reader.report
            summary.rejected = list(report.rejected)
            summary.warnings = list(report.warnings)
            summary.rejected_total = report.rejected_total
            summary.warnings_total = report.warnings_total
            if summary.accepted == 0:
                return summary
            await staging.index()
            portfolio_id = await _portfolio(session, portfolio)
            apply = _Apply(session, tenant_id, portfolio_id, now, self.db.is_postgres)
            summary.created, summary.updated, summary.settled = await apply.counts()
            if not dry_run:
                await apply.everything()
                await session.commit()
        return summary


def _position(stream: BinaryIO) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0


async def _portfolio(session: AsyncSession, name: str) -> uuid.UUID:
    found = await session.scalar(select(Portfolio.id).where(Portfolio.name == name))
    if found is not None:
        return found
    portfolio = Portfolio(id=uuid.uuid4(), name=name[:120])
    session.add(portfolio)
    await session.flush()
    return portfolio.id


class _Staging:
    """The temporary table the accepted rows are copied into."""

    def __init__(self, session: AsyncSession, postgres: bool) -> None:
        self.session = session
        self.postgres = postgres

    async def create(self) -> None:
        suffix = "ON COMMIT DROP" if self.postgres else ""
        await self.session.execute(
            text(f"""
            CREATE TEMPORARY TABLE import_staging (
                line INTEGER NOT NULL, cpf VARCHAR(11) NOT NULL, cpf_hash VARCHAR(64) NOT NULL,
                name VARCHAR(200) NOT NULL, birth_date DATE, email VARCHAR(254),
                phone VARCHAR(20), contract VARCHAR(60) NOT NULL, installment INTEGER NOT NULL,
                due_date DATE NOT NULL, amount BIGINT NOT NULL, product VARCHAR(120) NOT NULL,
                address VARCHAR(300) NOT NULL, city VARCHAR(100) NOT NULL,
                state VARCHAR(2) NOT NULL, zip VARCHAR(8) NOT NULL
            ) {suffix}""")
        )

    async def index(self) -> None:
        """Index and analyse the loaded rows so the set-wise statements plan well."""
        await self.session.execute(
            text("CREATE INDEX import_staging_contract ON import_staging (contract, installment)")
        )
        await self.session.execute(text("ANALYZE import_staging"))

    async def load(self, batch: list[tuple[Any, ...]]) -> None:
        if self.postgres:
            connection = await self.session.connection()
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.copy_records_to_table(
                "import_staging", records=batch, columns=STAGING_COLUMNS
            )
            return
        placeholders = ", ".join("?" for _ in STAGING_COLUMNS)
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        cursor = await raw.driver_connection.cursor()  # type: ignore[union-attr]
        await cursor.executemany(
            f"INSERT INTO import_staging ({', '.join(STAGING_COLUMNS)}) VALUES ({placeholders})",
            [tuple(v.isoformat() if isinstance(v, date) else v for v in row) for row in batch],
        )
        await cursor.close()


_TYPES: dict[str, type[Uuid[Any]] | type[UTCDateTime]] = {
    "tenant": Uuid,
    "portfolio": Uuid,
    "now": UTCDateTime,
}


class _Apply:
    """The set-based statements that turn the staging table into debtors and debts."""

    def __init__(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        portfolio_id: uuid.UUID,
        now: datetime,
        postgres: bool,
    ) -> None:
        self.session = session
        self.params = {"tenant": tenant_id, "portfolio": portfolio_id, "now": now}
        self.new_id = "gen_random_uuid()" if postgres else "lower(hex(randomblob(16)))"
        self.postgres = postgres

    def _statement(self, sql: str) -> tuple[Any, dict[str, Any]]:
        names = [name for name in self.params if f":{name}" in sql]
        statement = text(sql).bindparams(*[bindparam(n, type_=_TYPES[n]()) for n in names])
        return statement, {n: self.params[n] for n in names}

    async def _run(self, sql: str) -> None:
        statement, params = self._statement(sql)
        await self.session.execute(statement, params)

    async def _scalar(self, sql: str) -> int:
        statement, params = self._statement(sql)
        return int(await self.session.scalar(statement, params) or 0)

    _CONTRACTS = """
        SELECT contract, MAX(cpf_hash) AS cpf_hash, SUM(amount) AS amount,
               MIN(due_date) AS due_date, MAX(product) AS product
        FROM import_staging GROUP BY contract"""

    async def counts(self) -> tuple[int, int, int]:
        """How many debts the import creates, changes and settles."""
        created = await self._scalar(f"""
            SELECT COUNT(*) FROM ({self._CONTRACTS}) c
            WHERE NOT EXISTS (SELECT 1 FROM debts d WHERE d.tenant_id = :tenant
                              AND d.portfolio_id = :portfolio AND d.contract = c.contract)""")
        updated = await self._scalar(f"""
            SELECT COUNT(*) FROM ({self._CONTRACTS}) c
            JOIN debts d ON d.tenant_id = :tenant AND d.portfolio_id = :portfolio
                        AND d.contract = c.contract
            JOIN debtors p ON p.id = d.debtor_id
            WHERE d.status IN ('open', 'regularized')
              AND (d.status = 'regularized' OR d.original_amount <> c.amount
                   OR d.due_date <> c.due_date OR d.product <> c.product
                   OR p.cpf_hash <> c.cpf_hash
                   OR {self._items_differ("d.id")})""")
        settled = await self._scalar("""
            SELECT COUNT(*) FROM debts d
            WHERE d.tenant_id = :tenant AND d.portfolio_id = :portfolio AND d.status = 'open'
              AND NOT EXISTS (SELECT 1 FROM import_staging s WHERE s.contract = d.contract)""")
        return created, updated, settled

    def _items_differ(self, debt_id: str) -> str:
        return f"""EXISTS (
            SELECT 1 FROM import_staging s JOIN debts dd ON dd.id = {debt_id}
            WHERE s.contract = dd.contract AND NOT EXISTS (
                SELECT 1 FROM debt_items i WHERE i.debt_id = {debt_id}
                AND i.number = s.installment AND i.amount = s.amount
                AND i.due_date = s.due_date))"""

    async def everything(self) -> None:
        """Apply the staging table: debtors, contacts, debts, installments, settlements."""
        await self._run(f"""
            INSERT INTO debtors (id, tenant_id, cpf, cpf_hash, name, birth_date, address,
                                 city, state, zip_code, created_at)
            SELECT {self.new_id}, :tenant, s.cpf, s.cpf_hash, s.name, s.birth_date, s.address,
                   s.city, s.state, s.zip, :now
            FROM import_staging s
            WHERE s.line IN (SELECT MAX(line) FROM import_staging GROUP BY cpf_hash)
            ON CONFLICT (tenant_id, cpf_hash) DO UPDATE SET
                name = excluded.name,
                birth_date = COALESCE(excluded.birth_date, debtors.birth_date),
                address = CASE WHEN excluded.address <> '' THEN excluded.address
                               ELSE debtors.address END,
                city = CASE WHEN excluded.city <> '' THEN excluded.city ELSE debtors.city END,
                state = CASE WHEN excluded.state <> '' THEN excluded.state
                             ELSE debtors.state END,
                zip_code = CASE WHEN excluded.zip_code <> '' THEN excluded.zip_code
                                ELSE debtors.zip_code END
            WHERE debtors.name IS DISTINCT FROM excluded.name
               OR (excluded.birth_date IS NOT NULL
                   AND debtors.birth_date IS DISTINCT FROM excluded.birth_date)
               OR (excluded.address <> '' AND debtors.address <> excluded.address)
               OR (excluded.city <> '' AND debtors.city <> excluded.city)
               OR (excluded.state <> '' AND debtors.state <> excluded.state)
               OR (excluded.zip_code <> '' AND debtors.zip_code <> excluded.zip_code)""")
        for kind, column in (("email", "email"), ("phone", "phone")):
            await self._run(f"""
                INSERT INTO contacts (id, tenant_id, debtor_id, kind, value, whatsapp_opt_in,
                                      created_at)
                SELECT {self.new_id}, :tenant, x.debtor_id, '{kind}', x.value, false, :now
                FROM (SELECT DISTINCT d.id AS debtor_id, s.{column} AS value
                      FROM import_staging s
                      JOIN debtors d ON d.tenant_id = :tenant AND d.cpf_hash = s.cpf_hash
                      WHERE s.{column} IS NOT NULL) x
                WHERE true
                ON CONFLICT (tenant_id, debtor_id, kind, value) DO NOTHING""")
        await self._run(f"""
            INSERT INTO debts (id, tenant_id, portfolio_id, debtor_id, contract, product,
                               original_amount, due_date, status, created_at)
            SELECT {self.new_id}, :tenant, :portfolio, d.id, c.contract, c.product, c.amount,
                   c.due_date, 'open', :now
            FROM ({self._CONTRACTS}) c
            JOIN debtors d ON d.tenant_id = :tenant AND d.cpf_hash = c.cpf_hash
            WHERE true
            ON CONFLICT (tenant_id, portfolio_id, contract) DO UPDATE SET
                debtor_id = excluded.debtor_id, product = excluded.product,
                original_amount = excluded.original_amount, due_date = excluded.due_date,
                status = 'open'
            WHERE debts.status IN ('open', 'regularized')
              AND (debts.status = 'regularized'
                   OR debts.debtor_id IS DISTINCT FROM excluded.debtor_id
                   OR debts.product IS DISTINCT FROM excluded.product
                   OR debts.original_amount <> excluded.original_amount
                   OR debts.due_date <> excluded.due_date)""")
        touched = """
            SELECT d.id FROM debts d
            WHERE d.tenant_id = :tenant AND d.portfolio_id = :portfolio AND d.status = 'open'
              AND d.contract IN (SELECT contract FROM import_staging)"""
        await self._run(f"""
            DELETE FROM debt_items
            WHERE debt_id IN ({touched})
              AND NOT EXISTS (SELECT 1 FROM import_staging s
                              JOIN debts d ON d.id = debt_items.debt_id
                              WHERE s.contract = d.contract
                                AND s.installment = debt_items.number)""")
        await self._run(f"""
            INSERT INTO debt_items (id, tenant_id, debt_id, number, due_date, amount)
            SELECT {self.new_id}, :tenant, d.id, s.installment, s.due_date, s.amount
            FROM import_staging s
            JOIN debts d ON d.tenant_id = :tenant AND d.portfolio_id = :portfolio
                        AND d.contract = s.contract AND d.status = 'open'
            WHERE true
            ON CONFLICT (debt_id, number) DO UPDATE SET
                due_date = excluded.due_date, amount = excluded.amount
            WHERE debt_items.due_date <> excluded.due_date
               OR debt_items.amount <> excluded.amount""")
        await self._run("""
            UPDATE debts SET status = 'regularized'
            WHERE tenant_id = :tenant AND portfolio_id = :portfolio AND status = 'open'
              AND NOT EXISTS (SELECT 1 FROM import_staging s WHERE s.contract = debts.contract)""")
        if not self.postgres:
            await self._run("DROP TABLE import_staging")

"""Portfolio import: stream a validated file into a staging table, then apply it set-wise.

One import is one transaction: the accepted rows are copied into a temporary staging
table (PostgreSQL ``COPY``; batched inserts on SQLite), the counts of debts to create,
update and settle are computed against it, and debtors, contacts, debts and their
installments are written with a handful of set-wise statements: plain ``INSERT …
SELECT`` for what is new (a first import is nothing else), ``INSERT … ON CONFLICT``
upserts for what existed, and only for the debts whose installments changed. A dry run
(the preview) computes the counts the same way and rolls back, so they are exactly what
the import will do. Re-importing the same file changes nothing: every upsert only
writes rows whose values differ. Debts paid or written off are never touched; a debt under
an agreement only as import_agreements says. One tenant's imports run one at a time.

The statements are plain SQL (the ORM cannot express them set-wise), so each one
names the tenant explicitly; on PostgreSQL row-level security checks it again.
"""

from __future__ import annotations

import dataclasses
import functools
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

from collection.imports.agreements import reimport_agreements
from collection.imports.reading import (
    ColumnMapping,
    Field,
    ImportFileError,
    ImportLimits,
    ImportRow,
    normalize_header,
    open_import,
)
from collection.models import ImportColumnChoice, Portfolio
from collection.regua.disowned import REPORTED_AT_SQL
from core.db import Database, Scope, UTCDateTime, utcnow
from core.text import search_key

BATCH = 5_000
STAGING_COLUMNS = (
    "line",
    "cpf",
    "cpf_hash",
    "name",
    "search_name",
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
    agreements: list[dict[str, Any]] = field(default_factory=list)  # see import_agreements
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class ImportRefused(ValueError):
    """The file as a whole cannot be imported; ``message`` is for the person."""

    def __init__(self, message: str, problem: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.problem = problem


def _cpf_hasher(key: str) -> Callable[[str], str]:
    base = hmac.new(key.encode(), digestmod=hashlib.sha256)

    # A person's rows usually come together (one per installment): a small cache
    # computes each CPF's HMAC about once, with memory bounded for any file.
    @functools.lru_cache(maxsize=4096)
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
            search_key(r.name[:200])[:200],
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
        actor_id: uuid.UUID | None = None,
        columns: ColumnMapping | None = None,
    ) -> ImportSummary:
        """Import ``path`` (all or nothing; ``columns`` beat the tenant's); raises ImportRefused."""
        summary = ImportSummary(dry_run=dry_run)
        size = max(path.stat().st_size, 1)
        async with self.db.session(Scope.tenant(tenant_id)) as session:
            mapping = (await tenant_mapping(session)).overridden_by(columns)
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
            if self.db.is_postgres:
                await _postgres_settings(session, tenant_id, serialise=not dry_run)
            portfolio_id = await _portfolio(session, portfolio)
            apply = _Apply(session, tenant_id, portfolio_id, now, self.db.is_postgres)
            summary.created, summary.updated, summary.settled = await apply.counts()
            summary.agreements = await reimport_agreements(
                session, tenant_id, portfolio_id, actor_id=actor_id, today=today, dry_run=dry_run
            )
            if not dry_run:
                await apply.everything()
                await session.commit()
        return summary


async def _postgres_settings(
    session: AsyncSession, tenant_id: uuid.UUID, *, serialise: bool
) -> None:
    """Memory for the statements (they sort and hash the whole file) and the tenant's lock.

    Imports of one tenant run one after the other (a transaction-level advisory lock),
    so what ``_Apply`` finds new is still new when it is inserted: nothing but an
    import writes debtors or debts. A dry run writes nothing and does not wait.
    """
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    if serialise:
        await lock_tenant_writes(session, tenant_id)


async def lock_tenant_writes(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """On PostgreSQL, the tenant's lock on debtors and debts until the transaction ends:
    an import and any other writer of them (the API) run one after the other."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(b"quita.import:" + tenant_id.bytes).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


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
                name VARCHAR(200) NOT NULL, search_name VARCHAR(200) NOT NULL,
                birth_date DATE, email VARCHAR(254), phone VARCHAR(20),
                contract VARCHAR(60) NOT NULL, installment INTEGER NOT NULL,
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
    "stamp": UTCDateTime,
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
        # ``stamp`` is when the set-wise statements run (``updated_at``), just before the
        # commit, so an incremental sync that read past ``now`` still finds these rows.
        self.params = {"tenant": tenant_id, "portfolio": portfolio_id, "now": now}
        self.params["stamp"] = utcnow()
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
        await self._classify()
        created = await self._scalar("SELECT COUNT(*) FROM import_contracts WHERE is_new")
        updated = await self._scalar(f"""
            SELECT COUNT(*) FROM ({self._CONTRACTS}) c
            JOIN import_contracts k ON k.contract = c.contract
            JOIN debts d ON d.id = k.debt_id
            JOIN debtors p ON p.id = d.debtor_id
            WHERE NOT k.is_new AND d.status IN ('open', 'regularized')
              AND (d.status = 'regularized' OR d.original_amount <> c.amount
                   OR d.due_date <> c.due_date OR d.product <> c.product
                   OR p.cpf_hash <> c.cpf_hash
                   OR k.debt_id IN (SELECT debt_id FROM import_changed WHERE from_file))""")
        settled = await self._scalar("""
            SELECT COUNT(*) FROM debts d
            WHERE d.tenant_id = :tenant AND d.portfolio_id = :portfolio AND d.status = 'open'
              AND NOT EXISTS (SELECT 1 FROM import_staging s WHERE s.contract = d.contract)""")
        return created, updated, settled

    async def _exists(self, sql: str) -> bool:
        return await self._scalar(f"SELECT COUNT(*) FROM ({sql} LIMIT 1) x") > 0

    async def _temporary(self, name: str, columns: str) -> None:
        suffix = "ON COMMIT DROP" if self.postgres else ""
        await self._run(f"CREATE TEMPORARY TABLE {name} ({columns}) {suffix}")

    async def _classify(self) -> None:
        """Who and what in the file is already known, with the id each will have.

        Small temporary tables (no foreign keys, no row-level security): one per person
        (the file's last line for that CPF) and one per contract, each with the existing
        id or a new one and whether it is new; and the known debts whose installments
        differ from the file. New debtors and debts, and the rows hanging off them, are
        written with plain inserts (nothing can conflict with them); only what already
        existed goes through the comparing upserts, and only where something changed.
        """
        await self._temporary(
            "import_people",
            "cpf_hash VARCHAR(64) NOT NULL, line INTEGER NOT NULL, debtor_id UUID NOT NULL, "
            "is_new BOOLEAN NOT NULL",
        )
        await self._run(f"""
            INSERT INTO import_people (cpf_hash, line, debtor_id, is_new)
            SELECT s.cpf_hash, s.line, COALESCE(d.id, {self.new_id}), d.id IS NULL
            FROM import_staging s
            LEFT JOIN debtors d ON d.tenant_id = :tenant AND d.cpf_hash = s.cpf_hash
            WHERE s.line IN (SELECT MAX(line) FROM import_staging GROUP BY cpf_hash)""")
        await self._temporary(
            "import_contracts",
            "contract VARCHAR(60) NOT NULL, debt_id UUID NOT NULL, is_new BOOLEAN NOT NULL",
        )
        await self._run(f"""
            INSERT INTO import_contracts (contract, debt_id, is_new)
            SELECT c.contract, COALESCE(d.id, {self.new_id}), d.id IS NULL
            FROM (SELECT DISTINCT contract FROM import_staging) c
            LEFT JOIN debts d ON d.tenant_id = :tenant AND d.portfolio_id = :portfolio
                             AND d.contract = c.contract""")
        if self.postgres:
            await self._run("ANALYZE import_people")
            await self._run("ANALYZE import_contracts")
        else:
            # SQLite joins by nested loops: without these, joining them is quadratic.
            await self._run("CREATE INDEX import_people_cpf ON import_people (cpf_hash)")
            await self._run("CREATE INDEX import_people_line ON import_people (line)")
            await self._run("CREATE INDEX import_contracts_contract ON import_contracts (contract)")
            await self._run("CREATE INDEX import_contracts_debt ON import_contracts (debt_id)")
        # Known debts whose installments differ from the file: a line of the file with no
        # equal installment (from_file), or an installment the file no longer has. Only
        # these are written later; for the others the delete and the upsert would find
        # nothing to do after reading every installment.
        await self._temporary("import_changed", "debt_id UUID NOT NULL, from_file BOOLEAN NOT NULL")
        if not await self._exists("SELECT 1 FROM import_contracts WHERE NOT is_new"):
            return  # a new portfolio, or only new contracts: nothing to compare
        await self._run("""
            INSERT INTO import_changed (debt_id, from_file)
            SELECT DISTINCT k.debt_id, true
            FROM import_staging s JOIN import_contracts k ON k.contract = s.contract
            LEFT JOIN debt_items i ON i.debt_id = k.debt_id AND i.number = s.installment
                                  AND i.due_date = s.due_date AND i.amount = s.amount
            WHERE NOT k.is_new AND i.debt_id IS NULL
            UNION ALL
            SELECT DISTINCT k.debt_id, false
            FROM debt_items i JOIN import_contracts k ON k.debt_id = i.debt_id
            LEFT JOIN import_staging s ON s.contract = k.contract AND s.installment = i.number
            WHERE NOT k.is_new AND s.contract IS NULL""")

    async def everything(self) -> None:
        """Apply the staging table: debtors, contacts, debts, installments, settlements."""
        # counts() has classified the file (see _classify).
        known_people = await self._exists("SELECT 1 FROM import_people WHERE NOT is_new")
        known_debts = await self._exists("SELECT 1 FROM import_contracts WHERE NOT is_new")
        portfolio_debts = known_debts or await self._exists(
            "SELECT 1 FROM debts WHERE tenant_id = :tenant AND portfolio_id = :portfolio"
        )
        if await self._exists("SELECT 1 FROM import_people WHERE is_new"):
            await self._new_debtors()
        if known_people:
            await self._known_debtors()
        if await self._exists("SELECT 1 FROM import_contracts WHERE is_new"):
            await self._new_debts()
        if known_debts:
            await self._known_debts()
        if portfolio_debts:
            await self._run("""
                UPDATE debts SET status = 'regularized', updated_at = :stamp
                WHERE tenant_id = :tenant AND portfolio_id = :portfolio AND status = 'open'
                  AND NOT EXISTS (SELECT 1 FROM import_staging s
                                  WHERE s.contract = debts.contract)""")
        if not self.postgres:
            for table in ("import_staging", "import_people", "import_contracts", "import_changed"):
                await self._run(f"DROP TABLE {table}")

    async def _new_debtors(self) -> None:
        """Debtors first seen in this import, with their e-mails and phones."""
        await self._run("""
            INSERT INTO debtors (id, tenant_id, cpf, cpf_hash, name, search_name, birth_date,
                                 address, city, state, zip_code, created_at)
            SELECT p.debtor_id, :tenant, s.cpf, s.cpf_hash, s.name, s.search_name, s.birth_date,
                   s.address, s.city, s.state, s.zip, :now
            FROM import_people p JOIN import_staging s ON s.line = p.line
            WHERE p.is_new""")
        await self._run(f"""
            INSERT INTO contacts (id, tenant_id, debtor_id, kind, value, whatsapp_opt_in,
                                  created_at, not_mine_at)
            SELECT {self.new_id}, :tenant, x.debtor_id, x.kind, x.value, false, :now,
                   {REPORTED_AT_SQL}
            FROM ({self._contacts("p.is_new")}) x""")

    def _contacts(self, people: str) -> str:
        """Each distinct (debtor, kind, value) of the file for the people chosen."""
        return " UNION ".join(
            f"""SELECT p.debtor_id AS debtor_id, '{kind}' AS kind, s.{kind} AS value
                FROM import_staging s JOIN import_people p ON p.cpf_hash = s.cpf_hash
                WHERE {people} AND s.{kind} IS NOT NULL"""
            for kind in ("email", "phone")
        )

    async def _known_debtors(self) -> None:
        """Debtors already in the tenant: refresh what changed, add new contacts."""
        await self._run("""
            INSERT INTO debtors (id, tenant_id, cpf, cpf_hash, name, search_name, birth_date,
                                 address, city, state, zip_code, created_at)
            SELECT p.debtor_id, :tenant, s.cpf, s.cpf_hash, s.name, s.search_name, s.birth_date,
                   s.address, s.city, s.state, s.zip, :now
            FROM import_people p JOIN import_staging s ON s.line = p.line
            WHERE NOT p.is_new
            ON CONFLICT (tenant_id, cpf_hash) DO UPDATE SET
                name = excluded.name,
                search_name = excluded.search_name,
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
        await self._run(f"""
            INSERT INTO contacts (id, tenant_id, debtor_id, kind, value, whatsapp_opt_in,
                                  created_at, not_mine_at)
            SELECT {self.new_id}, :tenant, x.debtor_id, x.kind, x.value, false, :now,
                   {REPORTED_AT_SQL}
            FROM ({self._contacts("NOT p.is_new")}) x
            WHERE true
            ON CONFLICT (tenant_id, debtor_id, kind, value) DO NOTHING""")

    async def _new_debts(self) -> None:
        """Contracts first seen in this portfolio, and their installments."""
        await self._run(f"""
            INSERT INTO debts (id, tenant_id, portfolio_id, debtor_id, contract, product,
                               original_amount, due_date, status, created_at, updated_at)
            SELECT k.debt_id, :tenant, :portfolio, p.debtor_id, c.contract, c.product,
                   c.amount, c.due_date, 'open', :now, :stamp
            FROM ({self._CONTRACTS}) c
            JOIN import_contracts k ON k.contract = c.contract
            JOIN import_people p ON p.cpf_hash = c.cpf_hash
            WHERE k.is_new""")
        await self._run(f"""
            INSERT INTO debt_items (id, tenant_id, debt_id, number, due_date, amount)
            SELECT {self.new_id}, :tenant, k.debt_id, s.installment, s.due_date, s.amount
            FROM import_staging s JOIN import_contracts k ON k.contract = s.contract
            WHERE k.is_new""")

    async def _known_debts(self) -> None:
        """Contracts the portfolio had: update what changed, reopen, fix installments."""
        await self._run(f"""
            INSERT INTO debts (id, tenant_id, portfolio_id, debtor_id, contract, product,
                               original_amount, due_date, status, created_at, updated_at)
            SELECT k.debt_id, :tenant, :portfolio, p.debtor_id, c.contract, c.product,
                   c.amount, c.due_date, 'open', :now, :stamp
            FROM ({self._CONTRACTS}) c
            JOIN import_contracts k ON k.contract = c.contract
            JOIN import_people p ON p.cpf_hash = c.cpf_hash
            WHERE NOT k.is_new
            ON CONFLICT (tenant_id, portfolio_id, contract) DO UPDATE SET
                debtor_id = excluded.debtor_id, product = excluded.product,
                original_amount = excluded.original_amount, due_date = excluded.due_date,
                status = 'open', updated_at = excluded.updated_at
            WHERE debts.status IN ('open', 'regularized')
              AND (debts.status = 'regularized'
                   OR debts.debtor_id IS DISTINCT FROM excluded.debtor_id
                   OR debts.product IS DISTINCT FROM excluded.product
                   OR debts.original_amount <> excluded.original_amount
                   OR debts.due_date <> excluded.due_date)""")
        if not await self._exists("SELECT 1 FROM import_changed"):
            return
        touched = """
            SELECT d.id FROM debts d
            WHERE d.id IN (SELECT debt_id FROM import_changed)
              AND d.tenant_id = :tenant AND d.portfolio_id = :portfolio AND d.status = 'open'"""
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
            JOIN import_contracts k ON k.contract = s.contract
            JOIN debts d ON d.id = k.debt_id AND d.tenant_id = :tenant
                        AND d.portfolio_id = :portfolio AND d.status = 'open'
            WHERE k.debt_id IN (SELECT debt_id FROM import_changed)
            ON CONFLICT (debt_id, number) DO UPDATE SET
                due_date = excluded.due_date, amount = excluded.amount
            WHERE debt_items.due_date <> excluded.due_date
               OR debt_items.amount <> excluded.amount""")
        await self._run(f"UPDATE debts SET updated_at = :stamp WHERE id IN ({touched})")

"""``quita import``: the portal's import, run in the foreground, with a JSON summary.

Like the portal, it reads the file with the tenant's saved column choices; ``--map
FIELD=HEADER`` (repeatable) names a column for a field for this run only, above them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from collection.imports.loader import ImportRefused, PortfolioImporter
from collection.imports.reading import (
    FIELD_LABELS,
    ColumnMapping,
    Field,
    ImportLimits,
    normalize_header,
)
from core.clock import SystemClock, local_today
from core.db import Database, Scope
from core.settings import Settings
from tenants.models import Tenant


def _fail(message: str) -> int:
    print(json.dumps({"error": message}, ensure_ascii=False), file=sys.stderr)
    return 2


_BY_NAME = {
    **{normalize_header(label): f for f, label in FIELD_LABELS.items()},
    **{normalize_header(f.value): f for f in Field},
}


def parse_map(pairs: Sequence[str]) -> ColumnMapping:
    """``["cpf=CNPJ/CPF", "due_date=Dt. Vencto."]`` → header → field choices.

    FIELD is the field's name (``due_date``) or its pt-BR label (``vencimento``); the
    header is compared as the reader compares headers. Raises ValueError (pt-BR).
    """
    columns: dict[str, Field] = {}
    for pair in pairs:
        name, sep, header = pair.partition("=")
        target = _BY_NAME.get(normalize_header(name))
        if not sep or not header.strip():
            raise ValueError(f"use --map CAMPO=COLUNA, não {pair!r}")
        if target is None:
            known = ", ".join(f.value for f in Field)
            raise ValueError(f"campo desconhecido em --map: {name!r} (campos: {known})")
        if target in columns.values():
            raise ValueError(f"o campo {target.value!r} aparece mais de uma vez em --map")
        columns[header.strip()] = target
    return ColumnMapping(columns)


async def run_import(
    settings: Settings,
    slug: str,
    path: Path,
    *,
    portfolio: str,
    dry_run: bool,
    columns: Sequence[str] = (),
) -> int:
    """Exit status: 0 when rows were imported, 1 when none could be, 2 when refused."""
    if not path.is_file():
        return _fail(f"arquivo não encontrado: {path}")
    try:
        mapping = parse_map(columns)
    except ValueError as exc:
        return _fail(str(exc))
    db = Database(settings.database.url)
    try:
        async with db.session(Scope.system()) as session:
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        if tenant_id is None:
            return _fail(f"credor desconhecido: {slug}")
        importer = PortfolioImporter(
            db,
            cpf_hash_key=settings.security.cpf_hash_key,
            limits=ImportLimits(max_bytes=settings.max_upload_bytes),
        )
        clock = SystemClock()
        try:
            summary = await importer.run(
                tenant_id,
                path,
                portfolio=portfolio,
                today=local_today(clock),
                now=clock.now(),
                dry_run=dry_run,
                columns=mapping,
            )
        except ImportRefused as exc:
            print(
                json.dumps({"error": exc.message, "problem": exc.problem}, ensure_ascii=False),
                file=sys.stderr,
            )
            return 2
    finally:
        await db.dispose()
    print(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    return 0 if summary.accepted else 1

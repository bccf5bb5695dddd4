"""``quita import``: the portal's import, run in the foreground, with a JSON summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sqlalchemy import select

from collection.imports.loader import ImportRefused, PortfolioImporter
from collection.imports.reading import ImportLimits
from core.clock import SystemClock, local_today
from core.db import Database, Scope
from core.settings import Settings
from tenants.models import Tenant


async def run_import(
    settings: Settings, slug: str, path: Path, *, portfolio: str, dry_run: bool
) -> int:
    """Exit status: 0 when rows were imported, 1 when none could be, 2 when refused."""
    if not path.is_file():
        print(
            json.dumps({"error": f"arquivo não encontrado: {path}"}, ensure_ascii=False),
            file=sys.stderr,
        )
        return 2
    db = Database(settings.database.url)
    try:
        async with db.session(Scope.system()) as session:
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        if tenant_id is None:
            print(
                json.dumps({"error": f"credor desconhecido: {slug}"}, ensure_ascii=False),
                file=sys.stderr,
            )
            return 2
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

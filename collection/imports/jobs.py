"""Import jobs: an upload, its preview (a dry run) and, once confirmed, the import.

Each phase runs in a worker. A job is claimed with a conditional update, so a repeated
or duplicated message runs nothing twice; a worker that dies mid-phase leaves the job
claimed and its transaction rolled back, and the sweeper puts it back in the queue.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from collection.imports.loader import (
    ImportRefused,
    PortfolioImporter,
    remember_mapping,
    tenant_mapping,
)
from collection.imports.reading import (
    Field,
    ImportFileError,
    ImportLimits,
    ImportPreview,
    ImportReport,
    preview,
)
from collection.models import ImportJob, ImportStatus
from core.clock import Clock, local_today
from core.db import Database, Scope
from core.errors import Refusal
from core.i18n import gettext as _
from core.tasks import enqueue_after_commit

log = structlog.get_logger("quita.imports")

RUN_IMPORT = "imports.run"
STALE_CLAIM = timedelta(minutes=30)
_CHUNK = 1024 * 1024


class ImportJobNotFound(LookupError):
    """No such job in the current tenant."""


class UploadRefused(Refusal):
    """The upload cannot become a job; ``message`` is for the person."""


async def store_upload(
    read: Callable[[int], Awaitable[bytes]], folder: Path, max_bytes: int
) -> tuple[Path, int, str]:
    """Stream an upload (its async ``read``) to disk, bounded; returns (path, size, sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.upload"
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as out:
        while True:
            chunk = await read(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                out.close()
                path.unlink(missing_ok=True)
                raise UploadRefused(
                    _("File too large: the limit is %(mb)s MB.")
                    % {"mb": max_bytes // (1024 * 1024)}
                )
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        path.unlink(missing_ok=True)
        raise UploadRefused(_("The file is empty."))
    return path, size, digest.hexdigest()


class ImportJobs:
    """Creating, running, confirming and reading import jobs."""

    def __init__(
        self, db: Database, importer: PortfolioImporter, clock: Clock, limits: ImportLimits
    ) -> None:
        self.db = db
        self.importer = importer
        self.clock = clock
        self.limits = limits

    async def create(
        self,
        session: AsyncSession,
        *,
        path: Path,
        filename: str,
        size: int,
        sha256: str,
        portfolio: str,
        user_id: uuid.UUID | None,
    ) -> ImportJob:
        """Register an upload and ask for its preview (or for a column mapping first)."""
        mapping = await tenant_mapping(session)
        try:
            peek = preview(
                path, n=0, mapping=mapping, limits=self.limits, today=local_today(self.clock)
            )
        except ImportFileError as exc:
            path.unlink(missing_ok=True)
            raise UploadRefused(exc.message) from exc
        job = ImportJob(
            id=uuid.uuid4(),
            portfolio_name=portfolio.strip()[:120] or "Carteira principal",
            filename=filename[:255],
            stored_path=str(path),
            size_bytes=size,
            sha256=sha256,
            status=ImportStatus.NEEDS_MAPPING if peek.missing else ImportStatus.PREVIEW_QUEUED,
            created_by=user_id,
        )
        session.add(job)
        if not peek.missing:
            enqueue_after_commit(session, RUN_IMPORT, str(job.id))
        return job

    async def get(self, session: AsyncSession, job_id: uuid.UUID) -> ImportJob:
        job = await session.scalar(select(ImportJob).where(ImportJob.id == job_id))
        if job is None:
            raise ImportJobNotFound(job_id)
        return job

    async def recent(self, session: AsyncSession, limit: int = 30) -> Sequence[ImportJob]:
        rows = await session.scalars(
            select(ImportJob).order_by(ImportJob.created_at.desc()).limit(limit)
        )
        return rows.all()

    def peek(self, job: ImportJob, mapping: Any, n: int = 10) -> ImportPreview:
        """Detection, mapping and the first rows of the job's file (for the page)."""
        return preview(
            Path(job.stored_path),
            n=n,
            mapping=mapping,
            limits=self.limits,
            today=local_today(self.clock),
        )

    async def choose_columns(
        self, session: AsyncSession, job_id: uuid.UUID, choices: dict[str, Field]
    ) -> ImportJob:
        """Remember the tenant's column choices and preview the file again."""
        job = await self.get(session, job_id)
        await remember_mapping(session, choices)
        if job.status in {ImportStatus.NEEDS_MAPPING, ImportStatus.PREVIEWED, ImportStatus.FAILED}:
            job.status = ImportStatus.PREVIEW_QUEUED
            job.progress = 0
            job.error = ""
            enqueue_after_commit(session, RUN_IMPORT, str(job.id))
        return job

    async def confirm(self, session: AsyncSession, job_id: uuid.UUID) -> bool:
        """Start the import of a previewed job; False if it was not waiting for that."""
        await self.get(session, job_id)
        result = await session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.status == ImportStatus.PREVIEWED)
            .values(status=ImportStatus.IMPORT_QUEUED, progress=0)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return False
        enqueue_after_commit(session, RUN_IMPORT, str(job_id))
        return True

    async def run(self, job_id: uuid.UUID) -> str:
        """Run the pending phase of a job (worker entry point); returns the new status."""
        now = self.clock.now()
        async with self.db.session(Scope.system()) as session:
            job = await session.get(ImportJob, job_id)
            if job is None:
                return "missing"
            phase = {
                ImportStatus.PREVIEW_QUEUED: ImportStatus.PREVIEWING,
                ImportStatus.IMPORT_QUEUED: ImportStatus.IMPORTING,
            }.get(job.status)
            if phase is None:
                return job.status.value
            claimed = await session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id, ImportJob.status == job.status)
                .values(status=phase, claimed_at=now, progress=0, rows_read=0)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            if getattr(claimed, "rowcount", 0) != 1:
                return "taken"
            tenant_id, path, portfolio = job.tenant_id, Path(job.stored_path), job.portfolio_name
            actor_id = job.created_by

        async def progress(rows: int, percent: int) -> None:
            async with self.db.session(Scope.tenant(tenant_id)) as s:
                await s.execute(
                    update(ImportJob)
                    .where(ImportJob.id == job_id)
                    .values(rows_read=rows, progress=percent)
                    .execution_options(synchronize_session=False)
                )
                await s.commit()

        values: dict[str, Any]
        try:
            summary = await self.importer.run(
                tenant_id,
                path,
                portfolio=portfolio,
                today=local_today(self.clock),
                now=now,
                dry_run=phase is ImportStatus.PREVIEWING,
                progress=progress,
                actor_id=actor_id,
            )
        except ImportRefused as exc:
            values = {"status": ImportStatus.FAILED, "error": exc.message[:500]}
        except Exception:
            log.exception("imports.failed", job_id=str(job_id))
            values = {
                "status": ImportStatus.FAILED,
                "error": _("Internal error while importing; nothing was saved. Try again."),
            }
        else:
            done = summary.as_dict()
            if phase is ImportStatus.PREVIEWING:
                values = {"status": ImportStatus.PREVIEWED, "preview": done}
            else:
                values = {"status": ImportStatus.IMPORTED, "result": done}
        async with self.db.session(Scope.tenant(tenant_id)) as session:
            await session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(progress=100, finished_at=self.clock.now(), **values)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return str(values["status"].value)

    async def stalled(self) -> list[str]:
        """Jobs to send again: queued ones (their message may be lost) and abandoned ones."""
        now = self.clock.now()
        async with self.db.session(Scope.system()) as session:
            await session.execute(
                update(ImportJob)
                .where(
                    ImportJob.status == ImportStatus.PREVIEWING,
                    ImportJob.claimed_at < now - STALE_CLAIM,
                )
                .values(status=ImportStatus.PREVIEW_QUEUED)
                .execution_options(synchronize_session=False)
            )
            await session.execute(
                update(ImportJob)
                .where(
                    ImportJob.status == ImportStatus.IMPORTING,
                    ImportJob.claimed_at < now - STALE_CLAIM,
                )
                .values(status=ImportStatus.IMPORT_QUEUED)
                .execution_options(synchronize_session=False)
            )
            queued = await session.scalars(
                select(ImportJob.id).where(
                    ImportJob.status.in_([ImportStatus.PREVIEW_QUEUED, ImportStatus.IMPORT_QUEUED]),
                    ImportJob.created_at < now - timedelta(minutes=1),
                )
            )
            ids = [str(i) for i in queued.all()]
            await session.commit()
        return ids


def issues_csv(summary: dict[str, Any]) -> bytes:
    """The downloadable report of a preview or import (formula-safe, for spreadsheets)."""
    report = ImportReport()
    for item in summary.get("rejected", []):
        report.reject(int(item["line"]), str(item["field"]), str(item["reason"]))
    for item in summary.get("warnings", []):
        report.warn(int(item["line"]), str(item["field"]), str(item["reason"]))
    return report.to_csv_bytes()

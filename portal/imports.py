"""Portfolio imports in the portal: upload, preview with live progress, confirm, report."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.imports.agreements import REIMPORT_LABELS, recent_changes
from collection.imports.jobs import (
    ImportJobNotFound,
    ImportJobs,
    UploadRefused,
    issues_csv,
    store_upload,
)
from collection.imports.loader import tenant_mapping
from collection.imports.reading import FIELD_LABELS, REQUIRED_FIELDS, Field, ImportFileError
from collection.models import ImportStatus
from core.i18n import gettext as _
from portal.auth import client_ip, provide_principal, provide_tenant_session, requires
from tenants.roles import Permission
from tenants.services import audit
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]


def _jobs(request: AnyRequest) -> ImportJobs:
    jobs: ImportJobs = request.app.state.import_jobs
    return jobs


class ImportsController(Controller):
    path = "/portal/imports"
    guards = [requires(Permission.PORTFOLIOS_IMPORT)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    @get("/", name="portal.imports")
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        return Template(
            "portal/imports.html",
            context={
                "principal": principal,
                "jobs": await _jobs(request).recent(session),
                "errors": {},
                "reimports": await recent_changes(session),
                "reimport_labels": REIMPORT_LABELS,
                "portfolio": "Carteira principal",
                "max_mb": request.app.state.settings.max_upload_bytes // (1024 * 1024),
            },
        )

    @post("/", name="portal.imports.upload")
    async def upload(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        form = await request.form()
        upload = form.get("file")
        portfolio = str(form.get("portfolio", "")).strip() or "Carteira principal"
        settings = request.app.state.settings
        folder = Path(settings.var_dir) / "uploads" / str(principal.tenant_id)
        error = ""
        job = None
        if not isinstance(upload, UploadFile) or not upload.filename:
            error = _("Choose a CSV or XLSX file.")
        else:
            try:
                path, size, sha256 = await store_upload(
                    upload.read, folder, settings.max_upload_bytes
                )
                job = await _jobs(request).create(
                    session,
                    path=path,
                    filename=upload.filename,
                    size=size,
                    sha256=sha256,
                    portfolio=portfolio,
                    user_id=principal.user_id,
                )
            except UploadRefused as exc:
                error = exc.message
        if job is None:
            return Template(
                "portal/imports.html",
                status_code=400,
                context={
                    "principal": principal,
                    "jobs": await _jobs(request).recent(session),
                    "errors": {"file": error},
                    "reimports": await recent_changes(session),
                    "reimport_labels": REIMPORT_LABELS,
                    "portfolio": portfolio,
                    "max_mb": settings.max_upload_bytes // (1024 * 1024),
                },
            )
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "import.uploaded",
            target=str(job.id),
            details={"file": job.filename, "bytes": job.size_bytes},
        )
        await session.commit()
        return Redirect(f"/portal/imports/{job.id}")

    async def _context(
        self, request: AnyRequest, session: AsyncSession, principal: Principal, job_id: uuid.UUID
    ) -> dict[str, Any]:
        try:
            job = await _jobs(request).get(session, job_id)
        except ImportJobNotFound as exc:
            raise NotFoundException() from exc
        context: dict[str, Any] = {
            "principal": principal,
            "job": job,
            "S": ImportStatus,
            "labels": FIELD_LABELS,
            "fields": list(Field),
            "required": REQUIRED_FIELDS,
            "reimport_labels": REIMPORT_LABELS,
        }
        if job.status in (ImportStatus.NEEDS_MAPPING, ImportStatus.PREVIEWED):
            try:
                context["peek"] = _jobs(request).peek(job, await tenant_mapping(session))
            except ImportFileError as exc:
                context["peek_error"] = exc.message
        return context

    @get("/{job_id:uuid}", name="portal.imports.job")
    async def job(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        job_id: FromPath[uuid.UUID],
    ) -> Template:
        context = await self._context(request, session, principal, job_id)
        name = (
            "portal/_import_status.html"
            if request.headers.get("hx-request")
            else "portal/import_job.html"
        )
        return Template(name, context=context)

    @post("/{job_id:uuid}/confirm", name="portal.imports.confirm")
    async def confirm(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        job_id: FromPath[uuid.UUID],
    ) -> Redirect:
        try:
            started = await _jobs(request).confirm(session, job_id)
        except ImportJobNotFound as exc:
            raise NotFoundException() from exc
        if started:
            audit.record(
                session,
                principal.actor(client_ip(request)),
                "import.confirmed",
                target=str(job_id),
            )
            await session.commit()
        # A second click (or a retried request) finds the job already started.
        return Redirect(f"/portal/imports/{job_id}")

    @post("/{job_id:uuid}/columns", name="portal.imports.columns")
    async def columns(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        job_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()
        choices: dict[str, Field] = {}
        for key, value in form.items():
            if key.startswith("col:") and value:
                try:
                    choices[key[4:]] = Field(str(value))
                except ValueError:
                    continue
        try:
            await _jobs(request).choose_columns(session, job_id, choices)
        except ImportJobNotFound as exc:
            raise NotFoundException() from exc
        await session.commit()
        return Redirect(f"/portal/imports/{job_id}")

    @get("/{job_id:uuid}/report.csv", name="portal.imports.report")
    async def report(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        job_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        try:
            job = await _jobs(request).get(session, job_id)
        except ImportJobNotFound as exc:
            raise NotFoundException() from exc
        summary = job.result or job.preview or {}
        return Response(
            issues_csv(summary),
            media_type="text/csv; charset=utf-8",
            headers={
                "content-disposition": f'attachment; filename="relatorio-importacao-{job.id}.csv"'
            },
        )

"""Portfolio files through the API: the same import jobs as the portal (upload, preview
by a worker, confirm, import by a worker), read back by id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts import records as api
from collection.imports.jobs import ImportJobNotFound, ImportJobs, UploadRefused
from core.i18n import gettext as _
from portal.api.access import api_actor, needs, provide_api_session, provide_grant
from portal.api.common import AnyRequest, not_found, refused
from portal.api.problems import CONFLICT, NOT_FOUND, PROTECTED, TOO_LARGE, ApiProblem
from portal.api.schemas import ImportJobOut, import_job_out
from tenants.services import audit
from tenants.services.api_clients import TokenGrant


@dataclass
class ImportUpload:
    """A CSV or XLSX portfolio file and the portfolio it fills."""

    file: UploadFile
    portfolio: str | None = None


def _jobs(request: AnyRequest) -> ImportJobs:
    jobs: ImportJobs = request.app.state.import_jobs
    return jobs


class ImportsController(Controller):
    path = "/imports"
    tags = ["imports"]
    dependencies = {
        "session": Provide(provide_api_session),
        "grant": Provide(provide_grant),
    }

    @post(
        "/",
        name="api.imports.upload",
        status_code=202,
        responses={**PROTECTED, **TOO_LARGE},
        **needs("imports:write"),
    )
    async def upload(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        grant: NamedDependency[TokenGrant],
        data: Annotated[ImportUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportJobOut:
        """Upload a portfolio file; its preview runs in the background (poll the job)."""
        upload = data.file
        if not isinstance(upload, UploadFile):
            raise ApiProblem(
                400,
                "invalid-request",
                _("Choose a CSV or XLSX file."),
                {"file": _("Choose a CSV or XLSX file.")},
            )
        settings = request.app.state.settings
        folder = Path(settings.var_dir) / "uploads" / str(grant.tenant_id)
        try:
            job = await api.upload_portfolio(
                session,
                _jobs(request),
                read=upload.read,
                folder=folder,
                max_bytes=settings.max_upload_bytes,
                filename=upload.filename or "",
                portfolio=data.portfolio,
            )
        except UploadRefused as exc:
            raise ApiProblem(400, "file-refused", exc.message, {"file": exc.message}) from None
        except api.InvalidInput as exc:
            raise refused(exc) from None
        audit.record(
            session,
            api_actor(request, grant),
            "import.uploaded",
            target=str(job.id),
            details={"file": job.filename, "bytes": job.size_bytes},
        )
        await session.commit()
        return import_job_out(job)

    @get(
        "/{job_id:uuid}",
        name="api.imports.job",
        responses={**PROTECTED, **NOT_FOUND},
        **needs("imports:write"),
    )
    async def job(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        job_id: FromPath[uuid.UUID],
    ) -> ImportJobOut:
        """An import job: its status, progress and the preview or import summary."""
        try:
            return import_job_out(await _jobs(request).get(session, job_id))
        except ImportJobNotFound:
            raise not_found() from None

    @post(
        "/{job_id:uuid}/confirm",
        name="api.imports.confirm",
        status_code=202,
        responses={**PROTECTED, **NOT_FOUND, **CONFLICT},
        **needs("imports:write"),
    )
    async def confirm(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        grant: NamedDependency[TokenGrant],
        job_id: FromPath[uuid.UUID],
    ) -> ImportJobOut:
        """Import a previewed file (once: a repeated call finds it already started)."""
        jobs = _jobs(request)
        try:
            started = await jobs.confirm(session, job_id)
        except ImportJobNotFound:
            raise not_found() from None
        if started:
            audit.record(session, api_actor(request, grant), "import.confirmed", target=str(job_id))
            await session.commit()
        job = await jobs.get(session, job_id)
        if not started and not job.status.running and job.status.value != "imported":
            message = _("Only a previewed file can be imported.")
            raise ApiProblem(409, "conflict", message, {"status": message})
        return import_job_out(job)

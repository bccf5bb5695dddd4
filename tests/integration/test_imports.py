"""Portfolio import end to end: upload, preview, confirm, re-import, bad files, CLI."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from collection.models import Debt, DebtItem, Debtor, DebtStatus, ImportJob, ImportStatus
from core.clock import SystemClock
from core.db import Scope
from tenants.roles import Role
from tests.conftest import csrf_from, login
from tests.factories import PASSWORD
from workers.runtime import build_import_jobs

HEADER = "Nome;CPF;Data de Nascimento;E-mail;Celular;Contrato;Parcela;Vencimento;Valor Original;Produto\r\n"
ROWS = [
    "Maria da Silva;111.444.777-35;15/04/1985;maria@example.com;(11) 98765-4321;C-1;1;05/03/2024;1.234,56;Cartão",
    "Maria da Silva;111.444.777-35;15/04/1985;maria@example.com;(11) 98765-4321;C-1;2;05/04/2024;1.234,56;Cartão",
    "João Souza;529.982.247-25;01/01/1970;joao@@x;123;C-2;1;10/01/2025;100,00;Loja",
    "Ana Lima;390.533.447-05;;;;C-3;1;31/02/2024;99,90;Loja",
    "Outro Nome;529.982.247-26;;;;C-4;1;10/01/2025;50,00;Loja",
    "Carlos Dias;390.533.447-05;;;;C-1;3;05/05/2024;10,00;Cartão",
]


def csv_bytes(rows: list[str], encoding: str = "utf-8") -> bytes:
    return (HEADER + "\r\n".join(rows) + "\r\n").encode(encoding)


async def _upload(
    client, content: bytes, filename: str = "carteira.csv", portfolio: str = "Carteira de teste"
):
    page = await client.get("/portal/imports")
    assert page.status_code == 200
    return await client.post(
        "/portal/imports",
        data={"portfolio": portfolio, "_csrf_token": csrf_from(page.text)},
        files={"file": (filename, content, "text/csv")},
    )


def _job_id(response) -> str:
    assert response.status_code in (302, 303), response.text[:500]
    return response.headers["location"].rsplit("/", 1)[1]


async def _run_worker(db, settings, job_id: str) -> str:
    import uuid

    return await build_import_jobs(db, settings, SystemClock()).run(uuid.UUID(job_id))


async def test_upload_preview_confirm_and_reimport(client, world, db, settings):
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    job_id = _job_id(await _upload(client, csv_bytes(ROWS)))
    waiting = await client.get(f"/portal/imports/{job_id}")
    assert 'hx-trigger="every 1s"' in waiting.text and "<progress" in waiting.text
    partial = await client.get(f"/portal/imports/{job_id}", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and 'id="import-status"' in partial.text
    assert await _run_worker(db, settings, job_id) == "previewed"
    preview = await client.get(f"/portal/imports/{job_id}")
    text = preview.text
    assert "nada foi alterado" in text.lower() or "Prévia" in text
    # Line numbers as a spreadsheet shows them; reasons in Portuguese.
    assert re.search(r"<td>5</td><td>Vencimento</td><td>[^<]*data", text), text[-3000:]
    assert "Maria da Silva" in text
    async with db.session(Scope.tenant(world.a.id)) as session:
        job = await session.get_one(ImportJob, __import__("uuid").UUID(job_id))
        summary = job.preview
        assert summary is not None
        # The dry run wrote nothing.
        assert (
            await session.scalar(
                select(func.count()).select_from(Debt).where(Debt.contract == "C-1")
            )
            == 0
        )
    assert summary["accepted"] == 3
    assert {(i["line"], i["field"]) for i in summary["rejected"]} >= {(5, "Vencimento")}
    assert any(i["line"] == 6 for i in summary["rejected"])  # CPF check digits
    assert any(i["line"] == 7 for i in summary["rejected"])  # C-1 with another CPF
    assert {i["line"] for i in summary["warnings"]} == {4}  # bad e-mail/phone dropped
    assert summary["created"] == 2
    report = await client.get(f"/portal/imports/{job_id}/report.csv")
    assert report.status_code == 200 and report.content.startswith("\ufeff".encode())
    assert "Linha;" in report.text
    page = await client.get(f"/portal/imports/{job_id}")
    confirm = await client.post(
        f"/portal/imports/{job_id}/confirm", data={"_csrf_token": csrf_from(page.text)}
    )
    assert confirm.status_code in (302, 303)
    again = await client.post(
        f"/portal/imports/{job_id}/confirm",  # double click
        data={"_csrf_token": csrf_from(page.text)},
    )
    assert again.status_code in (302, 303)
    assert await _run_worker(db, settings, job_id) == "imported"
    assert await _run_worker(db, settings, job_id) == "imported"  # a repeated message
    async with db.session(Scope.tenant(world.a.id)) as session:
        debt = await session.scalar(select(Debt).where(Debt.contract == "C-1"))
        assert debt is not None and debt.original_amount == 246912
        items = (
            await session.scalars(select(DebtItem.amount).where(DebtItem.debt_id == debt.id))
        ).all()
        assert sorted(items) == [123456, 123456]
        maria = await session.get_one(Debtor, debt.debtor_id)
        assert maria.cpf == "11144477735"
    # The same file again changes nothing.
    second = _job_id(await _upload(client, csv_bytes(ROWS)))
    await _run_worker(db, settings, second)
    async with db.session(Scope.tenant(world.a.id)) as session:
        job = await session.get_one(ImportJob, __import__("uuid").UUID(second))
        assert job.preview is not None
        assert (job.preview["created"], job.preview["updated"], job.preview["settled"]) == (0, 0, 0)


async def test_reimport_updates_settles_and_leaves_agreements_alone(client, world, db, settings):
    await login(client, world.b.users[Role.ADMIN], PASSWORD)
    rows = [
        "Maria da Silva;111.444.777-35;;;;K-1;1;05/03/2024;100,00;X",
        "Maria da Silva;111.444.777-35;;;;K-2;1;05/03/2024;200,00;X",
        "Maria da Silva;111.444.777-35;;;;K-3;1;05/03/2024;300,00;X",
    ]
    for content in (rows,):
        job = _job_id(await _upload(client, csv_bytes(content), portfolio="Reimport"))
        await _run_worker(db, settings, job)
        page = await client.get(f"/portal/imports/{job}")
        await client.post(
            f"/portal/imports/{job}/confirm", data={"_csrf_token": csrf_from(page.text)}
        )
        assert await _run_worker(db, settings, job) == "imported"
    async with db.session(Scope.tenant(world.b.id)) as session:
        await session.execute(
            update(Debt)
            .where(Debt.contract == "K-3")
            .values(status=DebtStatus.IN_AGREEMENT)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    updated = ["Maria da Silva;111.444.777-35;;;;K-1;1;05/03/2024;150,00;X"]
    job = _job_id(await _upload(client, csv_bytes(updated), portfolio="Reimport"))
    await _run_worker(db, settings, job)
    page = await client.get(f"/portal/imports/{job}")
    await client.post(f"/portal/imports/{job}/confirm", data={"_csrf_token": csrf_from(page.text)})
    await _run_worker(db, settings, job)
    async with db.session(Scope.tenant(world.b.id)) as session:
        job_row = await session.get_one(ImportJob, __import__("uuid").UUID(job))
        assert job_row.result is not None
        assert (
            job_row.result["created"],
            job_row.result["updated"],
            job_row.result["settled"],
        ) == (0, 1, 1)
        debts = {
            d.contract: d
            for d in (
                await session.scalars(select(Debt).where(Debt.contract.in_(["K-1", "K-2", "K-3"])))
            ).all()
        }
    assert debts["K-1"].original_amount == 15000 and debts["K-1"].status == DebtStatus.OPEN
    assert debts["K-2"].status == DebtStatus.REGULARIZED
    assert debts["K-3"].status == DebtStatus.IN_AGREEMENT and debts["K-3"].original_amount == 30000


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 * 1024 * 1024))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("relatorio.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "CSV"),
        ("vazio.csv", b"", "vazio"),
        ("bomba.xlsx", None, "compact"),
    ],
)
async def test_bad_files_get_a_clear_message_and_change_nothing(
    client, world, db, name, content, message
):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    response = await _upload(client, _zip_bomb() if content is None else content, name)
    assert response.status_code == 400
    assert message.lower() in response.text.lower(), response.text[-2000:]
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert await session.scalar(select(func.count()).select_from(ImportJob)) == 0


async def test_unrecognised_columns_are_mapped_once_and_remembered(client, world, db, settings):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    content = (
        b"Cliente Final;Documento Fiscal;Numero Acordo;Venc;Total Devido\r\n"
        b"Maria da Silva;11144477735;Z-1;05/03/2024;10,00\r\n"
    )
    job = _job_id(await _upload(client, content))
    page = await client.get(f"/portal/imports/{job}")
    assert "Qual coluna é qual" in page.text
    form = {
        "_csrf_token": csrf_from(page.text),
        "col:Cliente Final": "name",
        "col:Documento Fiscal": "cpf",
        "col:Numero Acordo": "contract",
        "col:Venc": "due_date",
        "col:Total Devido": "amount",
    }
    assert (await client.post(f"/portal/imports/{job}/columns", data=form)).status_code in (
        302,
        303,
    )
    assert await _run_worker(db, settings, job) == "previewed"
    # The next file with the same headers needs no mapping.
    second = _job_id(await _upload(client, content))
    async with db.session(Scope.tenant(world.a.id)) as session:
        row = await session.get_one(ImportJob, __import__("uuid").UUID(second))
        assert row.status == ImportStatus.PREVIEW_QUEUED


async def test_formula_cells_are_neutralised_in_the_report(client, world, db, settings):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    rows = [
        '=HYPERLINK("http://evil.example/x";"clique");111.444.777-35;;;;F-1;1;31/02/2024;10,00;X'
    ]
    job = _job_id(await _upload(client, csv_bytes(rows)))
    await _run_worker(db, settings, job)
    report = await client.get(f"/portal/imports/{job}/report.csv")
    for line in report.text.splitlines()[1:]:
        for cell in line.split(";"):
            assert not cell.startswith(("=", "+", "@")), line


async def test_another_tenants_job_is_not_found(client, world, db, settings):
    await login(client, world.a.users[Role.OWNER], PASSWORD)
    job = _job_id(await _upload(client, csv_bytes(ROWS[:1])))
    client.cookies.clear()
    await login(client, world.b.users[Role.OWNER], PASSWORD)
    assert (await client.get(f"/portal/imports/{job}")).status_code == 404
    assert (await client.get(f"/portal/imports/{job}/report.csv")).status_code == 404


async def test_viewers_cannot_import(client, world):
    await login(client, world.a.users[Role.VIEWER], PASSWORD)
    assert (await client.get("/portal/imports")).status_code == 403


def test_cli_import_prints_the_summary_and_fails_when_nothing_imports(tmp_path, database_url):
    quita = str(Path(sys.executable).with_name("quita"))
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from collection.accounts.creditors import create_tenant
    from core.db import Database
    from tests.conftest import TEST_SECRET

    async def tenant() -> None:
        db = Database(database_url)
        async with db.session(Scope.system()) as session:
            await create_tenant(
                session,
                slug="cli-import",
                name="CLI",
                legal_name="CLI Ltda.",
                cnpj="11.444.777/0001-61",
                address="",
            )
            await session.commit()
        await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, tenant()).result()
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "PATH": "/usr/bin:/bin",
        "QUITA_VAR_DIR": str(tmp_path),
    }
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(ROWS, "cp1252"))
    dry = subprocess.run(
        [quita, "import", "--tenant", "cli-import", str(good), "--dry-run"],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert dry.returncode == 0, dry.stderr.decode()[-2000:]
    summary = json.loads(dry.stdout)
    assert set(summary) >= {"accepted", "rejected", "warnings", "created", "updated", "settled"}
    assert summary["accepted"] == 3 and summary["created"] == 2
    assert {"line": 5, "field": "Vencimento"}.items() <= summary["rejected"][0].items() or any(
        r["line"] == 5 for r in summary["rejected"]
    )
    real = subprocess.run(
        [quita, "import", "--tenant", "cli-import", str(good)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert real.returncode == 0 and json.loads(real.stdout)["created"] == 2
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(ROWS[3:5]))
    none = subprocess.run(
        [quita, "import", "--tenant", "cli-import", str(bad)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert none.returncode == 1 and json.loads(none.stdout)["accepted"] == 0


async def test_an_upload_over_the_configured_bound_is_refused(app, world, db, settings, tmp_path):
    from litestar.testing import AsyncTestClient

    from core.tasks import set_task_sender
    from quita.app import create_app
    from workers.actors import BrokerTaskSender

    small = create_app(settings.with_changes(max_upload_bytes=4096), run_workers=False)
    try:
        async with AsyncTestClient(small, base_url="https://testserver.local") as client:
            client.follow_redirects = False
            await login(client, world.a.users[Role.OWNER], PASSWORD)
            page = await client.get("/portal/imports")
            response = await client.post(
                "/portal/imports",
                data={"portfolio": "X", "_csrf_token": csrf_from(page.text)},
                files={"file": ("grande.csv", csv_bytes(ROWS * 40), "text/csv")},
            )
            assert response.status_code == 413
            assert "Arquivo grande demais" in response.text
    finally:
        set_task_sender(BrokerTaskSender(app.state.actors))  # the shared app's broker again
    async with db.session(Scope.tenant(world.a.id)) as session:
        assert await session.scalar(select(func.count()).select_from(ImportJob)) == 0


async def test_store_upload_stops_at_the_bound_and_keeps_nothing(tmp_path):
    from collection.imports.jobs import UploadRefused, store_upload

    chunks = [b"x" * 1000] * 5

    async def read(_n: int) -> bytes:
        return chunks.pop() if chunks else b""

    with pytest.raises(UploadRefused, match="grande demais"):
        await store_upload(read, tmp_path, max_bytes=2500)
    assert list(tmp_path.iterdir()) == []

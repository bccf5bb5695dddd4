"""ERP receivables reports through the portal upload and through ``quita import``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from collection.models import Debt, DebtItem, ImportJob
from core.clock import SystemClock
from core.db import Database, Scope
from tenants.roles import Role
from tests.conftest import TEST_SECRET, csrf_from, login
from tests.factories import PASSWORD
from workers.runtime import build_import_jobs

ERP = Path(__file__).parents[1] / "fixtures" / "erp"
TOTAL_ROW = "linha de totais do relatório, ignorada (não é uma dívida)"


async def _upload(client, path: Path) -> str:
    page = await client.get("/portal/imports")
    response = await client.post(
        "/portal/imports",
        data={"portfolio": "ERP", "_csrf_token": csrf_from(page.text)},
        files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
    )
    assert response.status_code in (302, 303), response.text[:500]
    return str(response.headers["location"].rsplit("/", 1)[1])


async def _run(db, settings, job: str) -> str:
    return await build_import_jobs(db, settings, SystemClock()).run(uuid.UUID(job))


@pytest.mark.parametrize(("name", "debts"), [("protheus.csv", 2), ("sap_b1.xlsx", 1)])
async def test_an_erp_report_uploads_without_a_mapping(client, world, db, settings, name, debts):
    await login(client, world.a.users[Role.ANALYST], PASSWORD)
    job = await _upload(client, ERP / name)
    assert await _run(db, settings, job) == "previewed"  # no column form on the way
    async with db.session(Scope.tenant(world.a.id)) as session:
        summary = (await session.get_one(ImportJob, uuid.UUID(job))).preview
    assert summary is not None and summary["created"] == debts
    # The CNPJ line is refused with its line, column and reason; the totals are a warning.
    line, column = (9, "CNPJ/CPF") if name == "protheus.csv" else (6, "ID fiscal")
    assert [(r["line"], r["field"]) for r in summary["rejected"]] == [(line, column)]
    assert "CNPJ" in summary["rejected"][0]["reason"]
    assert any(w["reason"] == TOTAL_ROW for w in summary["warnings"])
    report = await client.get(f"/portal/imports/{job}/report.csv")
    lines = report.text.splitlines()
    assert any(r.startswith(f"{line};") and f";{column};" in r for r in lines)
    assert f"10;aviso;;{TOTAL_ROW}" in lines or f"7;aviso;;{TOTAL_ROW}" in lines
    page = await client.get(f"/portal/imports/{job}")
    confirm = await client.post(
        f"/portal/imports/{job}/confirm", data={"_csrf_token": csrf_from(page.text)}
    )
    assert confirm.status_code in (302, 303)
    assert await _run(db, settings, job) == "imported"
    async with db.session(Scope.tenant(world.a.id)) as session:
        contract = "000123456" if name == "protheus.csv" else "71002"
        debt = await session.scalar(select(Debt).where(Debt.contract == contract))
        assert debt is not None
        items = (
            await session.scalars(select(DebtItem.amount).where(DebtItem.debt_id == debt.id))
        ).all()
        assert sorted(items) == ([120000, 120000] if name == "protheus.csv" else [64500, 64500])


def _tenant(database_url: str, slug: str) -> None:
    from collection.accounts.creditors import create_tenant

    async def make() -> None:
        db = Database(database_url)
        async with db.session(Scope.system()) as session:
            await create_tenant(
                session,
                slug=slug,
                name="ERP",
                legal_name="ERP Ltda.",
                cnpj="22.333.444/0001-81",
                address="",
            )
            await session.commit()
        await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, make()).result()


def _remember(database_url: str, slug: str, maps: list[str]) -> None:
    from collection.imports.loader import remember_mapping
    from quita.imports_cli import parse_map
    from tenants.models import Tenant

    async def save() -> None:
        db = Database(database_url)
        async with db.session(Scope.system()) as session:
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        assert tenant_id is not None
        async with db.session(Scope.tenant(tenant_id)) as session:
            choices = {h: f for h, f in parse_map(maps).columns.items() if f is not None}
            await remember_mapping(session, choices)
            await session.commit()
        await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, save()).result()


def test_cli_reads_erp_reports_and_takes_map_options(tmp_path, database_url):
    quita = str(Path(sys.executable).with_name("quita"))
    _tenant(database_url, "cli-erp")
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "PATH": "/usr/bin:/bin",
        "QUITA_VAR_DIR": str(tmp_path),
    }

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        command = [quita, "import", "--tenant", "cli-erp", *args, "--dry-run"]
        return subprocess.run(command, env=env, capture_output=True, timeout=120)

    senior = run(str(ERP / "senior.xlsx"))
    assert senior.returncode == 0, senior.stderr.decode()[-2000:]
    summary = json.loads(senior.stdout)
    assert summary["accepted"] == 3 and summary["created"] == 2
    assert [(r["line"], r["field"]) for r in summary["rejected"]] == [(8, "Vencimento")]
    assert "data inexistente" in summary["rejected"][0]["reason"]
    # A file whose columns the reader cannot guess is refused, naming what it found ...
    odd = tmp_path / "odd.csv"
    odd.write_bytes(
        "Cliente Final;Doc. Devedor;Ref;Pagar até;Quanto\r\n"
        "Maria da Silva;111.444.777-35;Z-1;05/03/2027;10,00\r\n"
        "João Souza;529.982.247-25;Z-2;05/04/2027;20,00\r\n".encode()
    )
    refused = run(str(odd))
    assert refused.returncode == 2 and "Doc. Devedor" in json.loads(refused.stderr)["error"]
    # ... and reads with --map (field names or their pt-BR labels).
    maps = ["name=Cliente Final", "cpf=Doc. Devedor", "contrato=Ref"]
    maps += ["due_date=Pagar até", "valor=Quanto"]
    mapped = run(str(odd), *[arg for m in maps for arg in ("--map", m)])
    assert mapped.returncode == 0, mapped.stderr.decode()[-2000:]
    assert json.loads(mapped.stdout)["created"] == 2
    # --map wins over what the reader would guess: the amount from "Saldo" instead.
    bling = run(str(ERP / "bling.csv"), "--map", "amount=Saldo")
    assert bling.returncode == 0 and json.loads(bling.stdout)["accepted"] == 3
    ignored = {w["field"]: w["reason"] for w in json.loads(bling.stdout)["warnings"]}
    assert "já vem da coluna 'Saldo'" in ignored["Valor"]
    # The tenant's saved choices (the portal's mapping form) apply without --map.
    _remember(database_url, "cli-erp", maps)
    saved = run(str(odd))
    assert saved.returncode == 0 and json.loads(saved.stdout)["created"] == 2
    wrong = run(str(odd), "--map", "rg=Ref")
    assert wrong.returncode == 2 and "campo desconhecido" in json.loads(wrong.stderr)["error"]
    malformed = run(str(odd), "--map", "cpf")
    assert malformed.returncode == 2 and "CAMPO=COLUNA" in json.loads(malformed.stderr)["error"]

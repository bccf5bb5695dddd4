"""The ``quita`` command: database, demo data, servers, workers and tools."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from core.settings import Settings


def _settings() -> Settings:
    settings = Settings.from_env()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return settings


def cmd_db(args: argparse.Namespace) -> int:
    from quita import migrate

    url = _settings().database.url
    if args.action == "upgrade":
        migrate.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        migrate.downgrade(url, args.revision or "-1")
    elif args.action == "check":
        migrate.check(url)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from quita.demo import load_demo

    return asyncio.run(load_demo(_settings(), debtors=args.debtors))


def _uvicorn_options(host: str, port: int) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "log_config": None,
        "proxy_headers": True,
        "forwarded_allow_ips": "127.0.0.1",
        "server_header": False,
    }


def web_app() -> Any:
    """The app of one process of ``quita web --processes N`` (uvicorn's factory)."""
    from quita.app import create_app
    from quita.models import load_all_models

    load_all_models()
    return create_app(_settings())


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other processes may bind too (``SO_REUSEPORT``): the
    kernel spreads new connections over every process listening on the port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _serve(
    settings: Settings,
    host: str,
    port: int,
    run_workers: bool | None,
    *,
    local_gateway: bool = False,
    processes: int = 1,
    reuse_port: bool = False,
) -> int:
    import uvicorn

    from integrations import local_gateway as fake
    from quita.app import create_app

    options = _uvicorn_options(host, port)
    if processes > 1:
        # Several processes on one port, each its own app (uvicorn restarts one that dies).
        uvicorn.run("quita.cli:web_app", factory=True, workers=processes, **options)
        return 0
    gateway = None
    if local_gateway:
        # No Stripe keys in development: a local fake gateway, so the demo can pay by card.
        gateway = fake.start()
        # Pix and boleto through the local test provider, confirmed by its own webhooks.
        payments = replace(
            gateway.settings,
            local_provider=True,
            local_webhook_url=f"http://127.0.0.1:{port}/webhooks/local",
        )
        settings = settings.with_changes(payments=payments)
        gateway.send_webhooks_to(f"http://127.0.0.1:{port}/webhooks/stripe")
        print(f"Gateway de pagamento de teste (localstripe) em {gateway.settings.api_base}")
        print("Pix e boleto: provedor local de teste (botão “Simular pagamento”)")
    try:
        app = create_app(settings, run_workers=run_workers)
        if reuse_port:
            server = uvicorn.Server(uvicorn.Config(app, **options))
            server.run(sockets=[_reuse_port_socket(host, port)])
        else:
            uvicorn.run(app, **options)
    finally:
        if gateway is not None:
            gateway.stop()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    mode = "embedded" if settings.embedded else "web + in-process workers"
    print(
        f"Quita em http://{args.host}:{args.port}/ (portal: /portal) — modo {mode}. "
        "Ctrl-C para parar.",
        flush=True,
    )
    local = not settings.payments.enabled and not settings.production
    return _serve(settings, args.host, args.port, run_workers=True, local_gateway=local)


def cmd_web(args: argparse.Namespace) -> int:
    return _serve(
        _settings(),
        args.host,
        args.port,
        run_workers=None,
        processes=args.processes,
        reuse_port=args.reuse_port,
    )


def cmd_worker(args: argparse.Namespace) -> int:
    import dramatiq

    from core.tasks import set_task_sender
    from quita.logging import configure_logging
    from workers.actors import BrokerTaskSender, register
    from workers.broker import build_broker
    from workers.runtime import build_runtime

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    broker = build_broker(settings.broker)
    actors = register(broker, build_runtime(settings))
    set_task_sender(BrokerTaskSender(actors))
    worker = dramatiq.Worker(broker, worker_threads=args.threads, worker_timeout=1000)
    worker.start()
    stop = asyncio.Event()
    print(f"worker started ({args.threads} threads, broker {settings.broker.kind})", flush=True)

    def _stop(*_: Any) -> None:
        loop.call_soon_threadsafe(stop.set)

    loop = asyncio.new_event_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    loop.run_until_complete(stop.wait())
    worker.stop()
    broker.close()
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    from quita.logging import configure_logging
    from workers.actors import register
    from workers.broker import build_broker
    from workers.runtime import build_runtime
    from workers.scheduler import Scheduler

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    broker = build_broker(settings.broker)
    actors = register(broker, build_runtime(settings))
    scheduler = Scheduler(actors, interval=args.interval)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: scheduler.stop())
    scheduler.run_forever()
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    from quita.cluster import run_cluster

    return run_cluster(web=args.web, workers=args.workers, base_port=args.base_port, demo=args.demo)


def cmd_offers(args: argparse.Namespace) -> int:
    import tomllib

    from collection.domain.errors import DomainError
    from collection.domain.policy_file import load_policy_toml
    from collection.domain.simulation import simulate
    from collection.domain.valuation import LegalRateTable
    from core.clock import SystemClock, local_today

    try:
        policy = load_policy_toml(Path(args.policy).read_text(encoding="utf-8"))
        legal = None
        if args.legal_rates:
            table = tomllib.loads(Path(args.legal_rates).read_text(encoding="utf-8"))
            legal = LegalRateTable(table.get("taxa_legal", {}))
        on = date.fromisoformat(args.on) if args.on else local_today(SystemClock())
        result = simulate(policy, args.amount, date.fromisoformat(args.due), on, legal_rates=legal)
    except (DomainError, ValueError, OSError, tomllib.TOMLDecodeError) as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False), file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from quita.imports_cli import run_import

    return asyncio.run(
        run_import(
            _settings(),
            args.tenant,
            Path(args.file),
            portfolio=args.portfolio,
            dry_run=args.dry_run,
            columns=args.map,
        )
    )


def cmd_reminders(args: argparse.Namespace) -> int:
    """The régua's dry run: what it would send, and block (and why), day by day."""
    from sqlalchemy import select

    from collection.regua.service import preview
    from core.clock import SystemClock, local_today
    from core.db import Database, Scope
    from tenants.models import Tenant

    async def run() -> int:
        settings = _settings()
        db = Database(settings.database.url)
        try:
            async with db.session(Scope.system()) as session:
                tenant = await session.scalar(select(Tenant).where(Tenant.slug == args.tenant))
            if tenant is None:
                print(json.dumps({"error": f"tenant not found: {args.tenant}"}), file=sys.stderr)
                return 2
            clock = SystemClock()
            start = date.fromisoformat(args.start) if args.start else local_today(clock)
            lines = await preview(db, tenant.id, start, args.days, clock.now())
        finally:
            await db.dispose()
        blocked: dict[str, int] = {}
        for line in lines:
            if line.status == "blocked":
                blocked[line.rule] = blocked.get(line.rule, 0) + 1
        report = {
            "tenant": tenant.slug,
            "enabled": tenant.reminders_enabled,
            "from": start.isoformat(),
            "days": args.days,
            "planned": sum(1 for line in lines if line.status == "planned"),
            "blocked": blocked,
            "messages": [
                {
                    "day": line.day.isoformat(),
                    "step": line.step,
                    "channel": line.channel,
                    "debtor": line.debtor,
                    "contract": line.contract,
                    "status": line.status,
                    "rule": line.rule,
                }
                for line in lines
            ],
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0

    return asyncio.run(run())


def cmd_secrets_key(args: argparse.Namespace) -> int:
    """Print a new random key for QUITA_SECRETS_KEY."""
    from core.secrets_box import SecretsBox

    print(SecretsBox.new_key())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quita", description="Quita command line")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "check"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(func=cmd_db)

    secrets_key = sub.add_parser(
        "secrets-key", help="print a new key for QUITA_SECRETS_KEY (secrets at rest)"
    )
    secrets_key.set_defaults(func=cmd_secrets_key)

    demo = sub.add_parser("demo", help="demo data")
    demo.add_argument("action", choices=["load"])
    demo.add_argument("--debtors", type=int, default=300)
    demo.set_defaults(func=cmd_demo)

    for name, func, help_text in (
        ("run", cmd_run, "web, debtor site and workers in one process (development)"),
        ("web", cmd_web, "web server only (production: run several)"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.set_defaults(func=func)
        if name == "web":
            p.add_argument(
                "--processes", type=int, default=1, help="processes serving this one port"
            )
            p.add_argument(
                "--reuse-port",
                action="store_true",
                help="share the port with other `quita web --reuse-port` (SO_REUSEPORT)",
            )

    worker = sub.add_parser("worker", help="background worker (production: run several)")
    worker.add_argument("--threads", type=int, default=4)
    worker.set_defaults(func=cmd_worker)

    scheduler = sub.add_parser("scheduler", help="periodic jobs (one per site)")
    scheduler.add_argument("--interval", type=float, default=60.0)
    scheduler.set_defaults(func=cmd_scheduler)

    cluster = sub.add_parser(
        "cluster", help="the production shape on this machine: N web, M workers, scheduler"
    )
    cluster.add_argument("--web", type=int, default=2)
    cluster.add_argument("--workers", type=int, default=2)
    cluster.add_argument("--base-port", type=int, default=8001)
    cluster.add_argument("--demo", action="store_true", help="load the demo data first")
    cluster.set_defaults(func=cmd_cluster)

    imp = sub.add_parser("import", help="import a portfolio file (CSV or XLSX)")
    imp.add_argument("--tenant", required=True, help="tenant slug")
    imp.add_argument("file")
    imp.add_argument("--portfolio", default="Carteira principal")
    imp.add_argument("--dry-run", action="store_true", help="validate and count, change nothing")
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=HEADER",
        help="read FIELD (cpf, name, contract, installment, due_date, amount, ...) from the "
        "column HEADER; repeatable; wins over the tenant's saved mapping",
    )
    imp.set_defaults(func=cmd_import)

    reminders = sub.add_parser("reminders", help="the régua de cobrança")
    reminders.add_argument("action", choices=["preview"])
    reminders.add_argument("--tenant", required=True, help="tenant slug")
    reminders.add_argument("--days", type=int, default=14)
    reminders.add_argument("--start", help="YYYY-MM-DD (default: today in São Paulo)")
    reminders.set_defaults(func=cmd_reminders)

    offers = sub.add_parser("offers", help="negotiation tools")
    offers.add_argument("action", choices=["simulate"])
    offers.add_argument("--policy", required=True)
    offers.add_argument("--amount", type=int, required=True, help="centavos")
    offers.add_argument("--due", required=True, help="YYYY-MM-DD")
    offers.add_argument("--on", help="YYYY-MM-DD (default: today in São Paulo)")
    offers.add_argument("--legal-rates", help='TOML with [taxa_legal] "YYYY-MM" = rate')
    offers.set_defaults(func=cmd_offers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from quita.models import load_all_models

    load_all_models()
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

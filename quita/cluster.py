"""The production shape on one machine: N web processes, M workers, one scheduler.

``quita cluster`` (``make cluster``) runs it from the local PostgreSQL and RabbitMQ (or
Redis): every process is a separate ``quita web`` / ``quita worker`` / ``quita
scheduler``, exactly as in production. The web processes share one port
(``SO_REUSEPORT``: the kernel spreads connections over them) unless ``shared_port`` is
off, as in the fault tests, which reach each process on its own port. A process
that dies is started again (what systemd or the container runtime does in production),
so the fault tests can kill one and watch the service recover.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import structlog

log = structlog.get_logger("quita.cluster")

QUITA = str(Path(sys.executable).with_name("quita"))
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/quita_cluster"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class Member:
    """One process of the cluster and how to start it again."""

    name: str
    argv: list[str]
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0


@dataclass
class Cluster:
    """Starts, watches and stops the processes; ``kill`` simulates a crash of one."""

    database_url: str = DEFAULT_DATABASE
    broker_url: str = DEFAULT_BROKER
    web: int = 2
    workers: int = 2
    base_port: int = 8001
    var_dir: Path = Path("var/cluster")
    queue_prefix: str = "cluster."
    scheduler_interval: float = 60.0
    shared_port: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    log_to: IO[bytes] | None = None
    members: dict[str, Member] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _watcher: threading.Thread | None = None

    @property
    def urls(self) -> list[str]:
        ports = dict.fromkeys(m.port for m in self.members.values() if m.port)
        return [f"http://127.0.0.1:{port}" for port in ports]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "BROKER_"))}
        env.update(
            DATABASE_URL=self.database_url,
            BROKER_URL=self.broker_url,
            BROKER_QUEUE_PREFIX=self.queue_prefix,
            QUITA_VAR_DIR=str(self.var_dir),  # shared by every process (uploads)
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def prepare(self, *, demo: bool = False) -> None:
        """Create the database if needed, migrate it, and load the demo data once."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        if self.database_url.startswith("postgresql"):
            asyncio.run(_create_database(self.database_url))
        subprocess.run([QUITA, "db", "upgrade"], env=self.env(), check=True)  # noqa: S603 (our own command)
        if demo:
            subprocess.run([QUITA, "demo", "load"], env=self.env(), check=True)  # noqa: S603

    def start(self, *, within: float = 60) -> None:
        """Start every process and wait until each web process answers its health check."""
        for n in range(self.web):
            port = self.base_port if self.shared_port else self.base_port + n
            argv = [QUITA, "web", "--port", str(port)]
            if self.shared_port:
                argv.append("--reuse-port")
            self._add(Member(f"web{n + 1}", argv, port=port))
        for n in range(self.workers):
            self._add(Member(f"worker{n + 1}", [QUITA, "worker", "--threads", "4"]))
        self._add(
            Member("scheduler", [QUITA, "scheduler", "--interval", str(self.scheduler_interval)])
        )
        for member in self.members.values():
            self._spawn(member)
        self.wait_healthy(within=within)
        self._watcher = threading.Thread(target=self._watch, name="cluster-watch", daemon=True)
        self._watcher.start()

    def wait_healthy(self, *, within: float = 60) -> None:
        """Until every web process answers its health check (database and broker up)."""
        deadline = time.monotonic() + within
        for url in self.urls:
            while not _healthy(url):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} did not become healthy")
                time.sleep(0.2)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Crash one process (the watcher starts it again)."""
        member = self.members[name]
        if member.process is not None:
            member.process.send_signal(sig)

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            running = [m.process for m in self.members.values() if m.process]
            for process in running:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in running:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def _add(self, member: Member) -> None:
        self.members[member.name] = member

    def _spawn(self, member: Member) -> None:
        out = self.log_to if self.log_to is not None else subprocess.DEVNULL
        member.process = subprocess.Popen(  # noqa: S603 (argv is our own command)
            member.argv, env=self.env(), stdout=out, stderr=out
        )
        log.info("cluster.started", member=member.name, pid=member.process.pid)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                for member in self.members.values():
                    if member.process is not None and member.process.poll() is not None:
                        if self._stop.is_set():
                            return
                        log.warning(
                            "cluster.restarting",
                            member=member.name,
                            returncode=member.process.returncode,
                        )
                        member.restarts += 1
                        self._spawn(member)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def _create_database(url: str) -> None:
    import asyncpg

    base, name = url.rsplit("/", 1)
    conn = await asyncpg.connect(f"{base}/postgres", timeout=10)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def run_cluster(*, web: int, workers: int, base_port: int, demo: bool) -> int:
    """``quita cluster``: run until Ctrl-C, restarting what dies."""
    cluster = Cluster(
        database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE),
        broker_url=os.environ.get("BROKER_URL", DEFAULT_BROKER),
        web=web,
        workers=workers,
        base_port=base_port,
        shared_port=True,
    )
    cluster.prepare(demo=demo)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    cluster.start()
    print("cluster ready:", ", ".join(cluster.urls), flush=True)
    print(f"{web} web, {workers} workers, 1 scheduler; Ctrl-C stops them all", flush=True)
    stopped.wait()
    cluster.stop()
    return 0

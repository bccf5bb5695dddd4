"""Load from wrk (a C load generator, Debian's ``wrk``), driven by Lua scripts.

The Python load generator the benches used before measured itself: on this 2-core
machine it served ~760–1,040 requests/s of `/ping`, where wrk drives the same process
to ~7,000. Every script written here ends with the same ``done()``, which prints one JSON
line (requests, seconds, p50/p99 in µs, socket errors, responses that were not the
expected status), so a bench reads figures, not wrk's text report.

``make bench`` installs wrk with apt when it is missing (as root), like npm for htmx.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Each thread counts the responses whose status is not the expected one; done() sums them
# over the threads (wrk gives each thread its own Lua state).
_COMMON = r"""
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
unexpected = 0
exhausted = 0
function response(status, headers, body)
  if status ~= EXPECTED then unexpected = unexpected + 1 end
end
function done(summary, latency, requests)
  local bad, out = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("unexpected")
    out = out + t:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"micros":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"unexpected":%d,' ..
    '"exhausted":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout, bad, out))
end
"""

# GET with one of several cookie headers, in turn per request.
_COOKIES = r"""
local cookies = {COOKIES}
local n = 0
function request()
  n = n + 1
  return wrk.format("GET", nil, {["Cookie"] = cookies[(n % #cookies) + 1]})
end
"""

# POST of pre-built bodies read from a file (one "header-value<TAB>body" a line); thread k of
# T sends lines k, k+T, k+2T... once each. wrk runs for its whole duration whatever its threads
# do, so the rate is only right when no thread ran out of bodies: one that does stops, and
# says so (``exhausted``); give more bodies than the run can send.
_BODIES = r"""
local lines = {}
local next_line = 1
local step = 1
function init(args)
  for line in io.lines(args[1]) do table.insert(lines, line) end
  step = tonumber(args[2])
  next_line = id + 1
end
function request()
  local line = lines[next_line]
  if line == nil then
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/ping")
  end
  next_line = next_line + step
  local tab = string.find(line, "\t", 1, true)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    [HEADER] = string.sub(line, 1, tab - 1),
  }, string.sub(line, tab + 1))
end
"""


@dataclass(frozen=True)
class Result:
    """What one wrk run measured."""

    name: str
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    unexpected: int
    exhausted: int = 0  # threads that ran out of bodies to post (the rate is then too low)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.unexpected

    def line(self) -> str:
        return (
            f"{self.name:<22} requests={self.requests:,} req/s={self.rps:,.0f} "
            f"p50={self.p50_ms:.1f}ms p90={self.p90_ms:.1f}ms p99={self.p99_ms:.1f}ms "
            f"max={self.max_ms:.0f}ms errors={self.errors} "
            f"(socket {self.socket_errors}, unexpected status {self.unexpected})"
            + (f" RAN OUT OF BODIES in {self.exhausted} thread(s)" if self.exhausted else "")
        )


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is required: apt-get install -y wrk (make bench installs it)")
    return path


def _lua(text: str, expected: int) -> str:
    return _COMMON.replace("EXPECTED", str(expected)) + text


def _run(
    name: str,
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int,
    threads: int,
    args: list[str] | None = None,
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        lua = handle.name
    try:
        argv = [
            require_wrk(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            lua,
            url,
        ]
        if args:
            argv += ["--", *args]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 60)
    finally:
        Path(lua).unlink()
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return Result(
        name=name,
        requests=data["requests"],
        seconds=data["micros"] / 1e6,
        p50_ms=data["p50"] / 1000,
        p90_ms=data["p90"] / 1000,
        p99_ms=data["p99"] / 1000,
        max_ms=data["max"] / 1000,
        socket_errors=sum(data[k] for k in ("connect", "read", "write", "timeout")),
        unexpected=data["unexpected"],
        exhausted=data["exhausted"],
    )


def get(
    name: str,
    url: str,
    *,
    cookies: list[str] | None = None,
    seconds: float = 15,
    connections: int = 32,
    threads: int = 2,
    expected: int = 200,
) -> Result:
    """GET ``url`` for ``seconds``; with ``cookies``, each request sends one, in turn."""
    quoted = ", ".join(json.dumps(c) for c in (cookies or [""]))
    script = _lua(_COOKIES.replace("{COOKIES}", "{" + quoted + "}"), expected)
    return _run(name, url, script, seconds=seconds, connections=connections, threads=threads)


def post_each(
    name: str,
    url: str,
    bodies: list[tuple[str, bytes]],
    *,
    header: str,
    seconds: float = 10,
    connections: int = 32,
    threads: int = 2,
    expected: int = 200,
) -> Result:
    """POST bodies (each once, with its ``header`` value) as fast as the server takes
    them, for ``seconds``."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        for value, body in bodies:
            text = body.decode()
            if "\n" in text or "\t" in value:
                raise ValueError("a body must fit on one line")
            handle.write(f"{value}\t{text}\n")
        path = handle.name
    try:
        script = _lua(_BODIES.replace("HEADER", json.dumps(header)), expected)
        return _run(
            name,
            url,
            script,
            seconds=seconds,
            connections=connections,
            threads=threads,
            args=[path, str(threads)],
        )
    finally:
        Path(path).unlink()


def beside(route: Result, ping: Result) -> str:
    """The route's figures beside /ping of the same process in the same run."""
    ratio = route.rps / ping.rps if ping.rps else 0.0
    return f"{route.line()}\n{ping.line()}\nratio {route.name} / {ping.name} = {ratio:.2f}"

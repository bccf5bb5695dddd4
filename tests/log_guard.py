"""Every log line the test suite writes, from every process, is read at the end: a full
CPF, e-mail address or phone number in any of them fails the run.

``QUITA_LOG_FILE`` makes each process (the test processes and the servers and workers
they start) append its log lines to a file under ``test-artifacts/logs``; the pytest
session that started the run reads them all when it finishes.
"""

from __future__ import annotations

import re
from pathlib import Path

LOG_DIR = Path(__file__).resolve().parent.parent / "test-artifacts" / "logs"

_CPF = re.compile(r"(?<![\d\w])(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})(?![\d\w])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+55\s?\d{10,11}(?!\d)|\(\d{2}\)\s?9?\d{4}-\d{4}(?!\d)")


def _is_cpf(digits: str) -> bool:
    if len(set(digits)) == 1:
        return False
    for size in (9, 10):
        total = sum(int(d) * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if check != int(digits[size]):
            return False
    return True


def personal_data_in(line: str) -> list[str]:
    """The kinds of personal data found in one log line ("cpf", "email", "phone")."""
    found = []
    if any(_is_cpf("".join(m.groups())) for m in _CPF.finditer(line)):
        found.append("cpf")
    if _EMAIL.search(line):
        found.append("email")
    if _PHONE.search(line):
        found.append("phone")
    return found


def offending_lines(folder: Path = LOG_DIR) -> list[tuple[str, int, list[str]]]:
    """(file, line number, kinds) of every log line that carries personal data."""
    hits = []
    for path in sorted(folder.glob("*.log")):
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                kinds = personal_data_in(line)
                if kinds:
                    hits.append((path.name, number, kinds))
    return hits

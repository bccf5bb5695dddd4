"""A large CSV is streamed: memory stays flat however many rows the file has."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.unit.importing.helpers import HEADER, make_cpf

ROWS = 200_000


def _write_portfolio(path, rows: int) -> None:
    """Three installments per contract, one debtor per contract, written in chunks."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\r\n")
        chunk: list[str] = []
        for i in range(rows):
            contract = i // 3
            cpf = make_cpf(100_000_000 + contract)
            chunk.append(
                f"Pessoa {contract} da Silva;{cpf};05/03/1980;p{contract}@example.com;"
                f"(11) 9{contract % 10_000:04d}-1234;CTR-{contract:07d};{i % 3 + 1};"
                f"{i % 28 + 1:02d}/03/2024;{i % 5000 + 1},{i % 100:02d};Cartão\r\n"
            )
            if len(chunk) == 10_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))


# VmHWM is this process's peak resident memory (getrusage's ru_maxrss would carry the
# forking pytest process's peak across exec).
_MEASURE = """
import sys
from collection.imports.reading import open_import
from tests.unit.importing.helpers import TODAY

def status_kib(key):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key))

before = status_kib("VmRSS:")
with open_import(sys.argv[1], today=TODAY) as reader:
    accepted = sum(1 for _ in reader.rows())
print(accepted, reader.report.rejected_total, status_kib("VmHWM:") - before)
"""


def test_a_200k_row_csv_is_validated_without_holding_the_file(tmp_path):
    path = tmp_path / "carteira.csv"
    _write_portfolio(path, ROWS)
    size = path.stat().st_size
    assert size > 20 * 1024 * 1024

    # A fresh process, so the peak belongs to this import alone.
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[3],
        timeout=120,
    )
    accepted, rejected, growth_kib = map(int, done.stdout.split())
    assert (accepted, rejected) == (ROWS, 0)
    # The ledger of ~67,000 contracts is ~3 MB; holding the 24 MB file would be > 100 MB.
    assert growth_kib < 16 * 1024, f"grew {growth_kib} KiB for a {size >> 20} MiB file"

"""The check that reads every log line of the suite finds personal data, and only that."""

from __future__ import annotations

import logging
from pathlib import Path

import structlog

from quita.logging import configure_logging
from tests.log_guard import LOG_DIR, offending_lines, personal_data_in


def test_a_full_cpf_email_or_phone_is_found_in_a_line():
    assert personal_data_in('{"event": "x", "cpf": "529.982.247-25"}') == ["cpf"]
    assert personal_data_in("cpf=52998224725") == ["cpf"]
    assert personal_data_in("to maria.silva@example.com") == ["email"]
    assert personal_data_in("sms to +5511987654321") == ["phone"]
    assert personal_data_in("sms to (11) 98765-4321") == ["phone"]


def test_masked_values_ids_and_numbers_that_are_no_cpf_pass():
    assert personal_data_in('{"cpf": "***.982.247-**", "to": "m***@example.com"}') == []
    assert personal_data_in("to (11) *****-4321 id=5c2a9b1e-8f0d-4a57-9e1b-2f9a3c4d5e6f") == []
    assert personal_data_in("amount=12345678901 took 00000000000") == []  # no valid CPF


def test_the_logs_of_this_process_reach_the_file_and_are_masked(tmp_path: Path):
    configure_logging("INFO", json=True)
    structlog.get_logger("test").info("guard.probe", who="maria.silva@example.com")
    logging.getLogger("test.stdlib").warning("cpf 529.982.247-25 in a library message")
    written = "".join(p.read_text() for p in LOG_DIR.glob("*.log"))
    assert "guard.probe" in written and "cpf" in written
    assert offending_lines() == []
    (tmp_path / "leak.log").write_text("ok\nleaked 529.982.247-25\n")
    assert offending_lines(tmp_path) == [("leak.log", 2, ["cpf"])]

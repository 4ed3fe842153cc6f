"""``ledger loan list`` (the book a page at a time) and ``ledger api-key new --add-to``."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.adapters.api_keys import keys_from_env
from ledger.bootstrap import run


def _ledger(db: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = run(["--db", db, *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _open(db: str, capsys: pytest.CaptureFixture[str], ref: str, product: str) -> None:
    opened = _ledger(db, capsys, "loan", "open", "--product", product, "--principal", "900.00",
                     "--term", "3", "--disbursed-on", "2026-01-05", "--daily-rate", "0.0005",
                     "--loan-id", ref)  # fmt: skip
    assert opened[0] == 0, opened


def test_loan_list_pages_through_the_book_and_filters_by_product(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'l.db'}"
    for ref, product in [("B-1", "equal_principal"), ("A-1", "interest_first"),
                         ("C-1", "equal_principal")]:  # fmt: skip
        _open(db, capsys, ref, product)
    status, out, _ = _ledger(db, capsys, "loan", "list", "--limit", "2", "--json")
    first = json.loads(out)
    assert status == 0 and first["total"] == 3
    assert [r["loan_id"] for r in first["loans"]] == ["A-1", "B-1"]
    status, out, _ = _ledger(db, capsys, "loan", "list", "--json", "--after", first["next_after"])
    assert [r["loan_id"] for r in json.loads(out)["loans"]] == ["C-1"]
    status, out, _ = _ledger(db, capsys, "loan", "list", "--product", "equal_principal")
    assert "Loans (2 of 2)" in out and "B-1" in out and "A-1" not in out


def test_loan_list_refuses_a_key_it_did_not_print_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'l.db'}"
    _open(db, capsys, "A-1", "interest_first")
    status, _, err = _ledger(db, capsys, "loan", "list", "--after", "junk")
    assert status == 2 and err == "error: --after: after 'junk' is not a key from a previous page\n"


def test_api_key_new_add_to_appends_the_hashed_line_and_prints_only_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "api-keys.txt"
    assert run(["api-key", "new", "ops", "--role", "operator", "--add-to", str(keys)]) == 0
    key = capsys.readouterr().out.strip()
    assert run(["api-key", "new", "aud", "--role", "auditor", "--add-to", str(keys)]) == 0
    capsys.readouterr()
    configured = keys_from_env({"LEDGER_API_KEYS_FILE": str(keys)})
    assert [(k.name, k.role) for k in configured] == [("ops", "operator"), ("aud", "auditor")]
    assert configured[0].matches(key) and key not in keys.read_text()
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert run(["api-key", "new", "ops", "--role", "auditor", "--add-to", str(keys)]) == 2
    assert capsys.readouterr().err == f"error: {keys} already holds a key named ops\n"
    assert len(keys.read_text().splitlines()) == 2

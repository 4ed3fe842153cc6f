"""``ledger demo`` runs its tour on a fresh store and tells a loan's story."""

from __future__ import annotations

from tests.conftest import Ledger


def test_the_demo_runs_on_a_fresh_store_and_prints_a_portfolio_and_a_story(
    ledger: Ledger,
) -> None:
    result = ledger("demo")
    assert result.code == 0, result.err
    assert "Balances at the end of 2026-04-30" in result.out
    assert "delinquency buckets (portfolio projection): current 1 loan(s)" in result.out
    assert "on 04-17 the bank returns it (bounced): DEMO-RS is overdue again" in result.out
    assert "lee approves; the plan now ends with #8" in result.out
    assert "its statement for 2026-04" in result.out
    assert "The story of DEMO-EP" in result.out
    assert ledger.ok("loan", "show", "DEMO-BR")["status"] == "closed"
    assert ledger.ok("loan", "show", "DEMO-EP")["status"] == "overdue"
    assert ledger.ok("loan", "show", "DEMO-RS")["status"] == "overdue"  # the bounce (section 17)
    kinds = [e["type"] for e in ledger.ok("loan", "events", "DEMO-EP")]
    assert "Restructured" in kinds and "DeductionRequested" in kinds

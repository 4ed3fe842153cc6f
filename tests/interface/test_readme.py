"""The README's examples are what the ledger prints (issue 13): its ``console`` blocks are run
in order, in an empty directory, by bash, and each command's output is compared with the
lines shown (see :mod:`tests.interface.readme_transcript` for how)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.interface.readme_transcript import Step, base_env, compare, run_readme, steps

ROOT = Path(__file__).resolve().parents[2]


def test_every_console_example_of_the_readme_prints_what_the_readme_shows(
    tmp_path: Path,
) -> None:
    env = base_env(Path(sys.executable).parent, tmp_path, ROOT)
    outcomes = run_readme(ROOT / "README.md", tmp_path, env)
    assert len(outcomes) >= 30, "the README's transcript lost its commands"
    wrong = [
        f"README line {o.step.line}: $ {o.step.command}\n    " + "\n    ".join(o.problems)
        for o in outcomes
        if o.problems
    ]
    assert not wrong, "\n".join(wrong)


def test_the_comparison_catches_a_changed_amount_a_missing_line_and_a_wrong_exit() -> None:
    shown = Step("ledger loan show A --json", ['  "principal": "10.00", "days": 3, ...'], 1)
    assert compare(shown, 0, '{"principal": "10.00", "x": {"days": 3}}', "") == []
    assert compare(shown, 0, '{"principal": "10.01", "days": 3}', "") == [
        'no principal: "10.00" in the JSON printed'
    ]
    table = Step("ledger portfolio", ["Portfolio as of …: 2 open loans", "...", "│ a │"], 1)
    assert compare(table, 0, "Portfolio as of 2026-01-01: 2 open loans\n│ b │\n│ a │\n", "") == []
    assert compare(table, 0, "Portfolio as of 2026-01-01: 2 open loans\n", "") == [
        "not printed (in this order): '│ a │'"
    ]
    refused = Step("ledger loan repay A 1", ["error: unknown loan A"], 1)
    assert compare(refused, 2, "", "error: unknown loan A\n") == []
    assert compare(refused, 0, "", "error: unknown loan A\n") == ["exit status 0, expected failure"]


def test_the_readme_parser_joins_continued_commands_and_keeps_their_output() -> None:
    text = "x\n```console\n$ ledger a \\\n    --b c\nout 1\n\n$ ledger d\n```\n"
    parsed = list(steps(text))
    assert [(s.command, s.expected, s.line) for s in parsed] == [
        ("ledger a \\\n    --b c", ["out 1", ""], 3),
        ("ledger d", [], 7),
    ]

"""House style is checked by the suite itself: ruff (lint and format) and mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["ledger", "scheduler", "tests", "ops", "projections", "api"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_the_code_is_ruff_clean_and_formatted() -> None:
    lint = _run("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    form = _run("ruff", "format", "--check", ".")
    assert form.returncode == 0, form.stdout + form.stderr


def test_the_code_is_mypy_strict_clean() -> None:
    typed = _run("mypy", *PACKAGES)
    assert typed.returncode == 0, typed.stdout + typed.stderr

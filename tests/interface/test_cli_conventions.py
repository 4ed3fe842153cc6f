"""What a newcomer expects of a command line (issue 13): ``--version`` and ``-h``."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from ledger.bootstrap import run


def test_version_prints_the_installed_version_of_the_ledger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out == f"ledger {version('loan-ledger')}\n"


@pytest.mark.parametrize("args", [["-h"], ["loan", "-h"], ["loan", "open", "-h"]])
def test_dash_h_is_help_on_every_command(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(args) == 0
    assert capsys.readouterr().out.startswith(f"Usage: ledger {' '.join(args[:-1])}".rstrip())

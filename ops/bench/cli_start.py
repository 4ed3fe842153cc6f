"""Benchmark: how long ``ledger loan show`` takes from start to exit, next to the floor of
the same run.

What is measured, in one run:

1. **A small store** (not timed): a fresh SQLite file with one loan (``ledger loan open``,
   disbursed 2026-01-15) whose business days are run to 2026-04-30 (``ledger close-day``), then one
   ``ledger loan show`` that creates and catches up the balances projection, so the timed
   runs read a store that is up to date (as a real one is).
2. **Each command** below is started as a new process ``--runs`` times, the commands taking
   turns (round-robin, so a burst of load elsewhere on the machine hits them all alike), and
   the median wall time and the median CPU time (user + system, less sensitive to other
   work on the machine) of each are printed:

   - ``python -c pass``: the floor, the interpreter's own start;
   - ``python -c 'import eventsourcing.application'``: the library the ledger stands on;
   - ``ledger loan show --help``: the CLI without opening the store;
   - ``ledger loan show LOAN``: the real read (the store opened, the projection read,
     the table printed).

   Each figure is also printed as a ratio to the floor of the same run. The issue's target:
   ``ledger loan show`` < 0.3 s.

``ledger`` is started as ``python -c 'from ledger.bootstrap import main; main()'``, which is
what the console script runs. The children run with bytecode caching, as an installed ledger
does: ``$PYTHONDONTWRITEBYTECODE`` is dropped for them and one untimed run of each command
writes the ``.pyc`` caches first (with the variable set and no caches, every module of the
project would be compiled at every start, about 0.3 s more on this machine kind).

Run (from the repository root)::

    .venv/bin/python ops/bench/cli_start.py               # 9 runs of each
    .venv/bin/python ops/bench/cli_start.py --runs 21
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEDGER = [sys.executable, "-c", "from ledger.bootstrap import main; main()"]
LOAN = "BENCH-START"
TODAY = "2026-04-30"


def child_env() -> dict[str, str]:
    env = dict(os.environ, LEDGER_TODAY=TODAY, COLUMNS="100")
    env.pop("LEDGER_DATABASE_URL", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # caches written once, then read
    return env


def prepare(url: str, env: dict[str, str]) -> None:
    """One loan, its business days run to :data:`TODAY`, on a fresh store (not timed)."""
    terms = "--product repay_on_schedule --principal 12000.00 --term 12 --daily-rate 0.0005"
    steps = [
        ["loan", "open", *terms.split(), "--disbursed-on", "2026-01-15", "--loan-id", LOAN],
        ["close-day", "--through", TODAY],
        ["loan", "show", LOAN],
    ]
    for step in steps:
        subprocess.run(
            [*LEDGER, "--db", url, *step], env=env, cwd=ROOT, check=True, capture_output=True
        )


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The wall time and the CPU time (user + system) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def measure(
    commands: dict[str, list[str]], runs: int, env: dict[str, str]
) -> dict[str, tuple[float, float]]:
    """The median wall time and CPU time of each command, the commands taking turns."""
    for command in commands.values():
        timed(command, env)  # untimed: writes the bytecode caches, warms the page cache
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(timed(command, env))
    return {
        name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for name, values in times.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9, help="Timed runs of each command.")
    args = parser.parse_args(argv)
    env = child_env()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/start.db"
        prepare(url, env)
        commands = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "import eventsourcing.application": [
                sys.executable,
                "-c",
                "import eventsourcing.application",
            ],
            "ledger loan show --help": [*LEDGER, "loan", "show", "--help"],
            "ledger loan show LOAN": [*LEDGER, "--db", url, "loan", "show", LOAN],
        }
        medians = measure(commands, args.runs, env)
    floor, floor_cpu = medians["python -c pass (floor)"]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"start times, median of {args.runs} runs each, {os.cpu_count()} cores, load {load}")
    print(f"{'command':<36} {'wall s':>8} {'x floor':>8} {'CPU s':>8} {'x floor':>8}")
    for name, (wall, cpu) in medians.items():
        print(
            f"{name:<36} {wall:>8.3f} {wall / floor:>8.1f} {cpu:>8.3f} "
            f"{cpu / floor_cpu if floor_cpu else 0.0:>8.1f}"
        )
    shown = medians["ledger loan show LOAN"][0]
    verdict = "met" if shown < 0.3 else "NOT met"
    print(f"target: ledger loan show < 0.300 s: {verdict} ({shown:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

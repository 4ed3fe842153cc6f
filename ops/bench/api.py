"""Benchmark: the HTTP API under a steady load, on loopback only.

1. A store is prepared (``--loans`` loans on a fresh SQLite file or PostgreSQL schema, their
   business days run to 2026-03-01) and ``ledger serve`` is started as a separate process
   on 127.0.0.1 with a fresh operator key.
2. **Balance reads**: ``GET /loans/{id}`` at ``--rate`` requests/s for ``--seconds`` seconds,
   spread over the loans, from one asyncio HTTP client (keep-alive connections), paced
   open-loop (a request is due on schedule whether or not the previous one finished, and its
   latency counts from when it was due, so a client that falls behind shows up in the
   figures instead of hiding queueing).
3. **Repayments**: ``POST /loans/{id}/repayments`` of 1.00 on 2026-03-02 at ``--write-rate``
   requests/s, one per loan at most.
Printed for each: requests sent, achieved requests/s, errors, p50, p99 and max latency. The
issue's target: p99 < 50 ms for reads at 200 requests/s. The server is stopped at the end;
nothing listens on another interface.

Run (from the repository root)::

    .venv/bin/python ops/bench/api.py                       # SQLite, 200 reads/s for 20 s
    .venv/bin/python ops/bench/api.py --db postgresql://postgres@127.0.0.1:5432/postgres?schema=bench_api
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from ledger.adapters.api_keys import new_key  # noqa: E402
from ledger.adapters.persistence import parse_database_url  # noqa: E402
from ledger.services.application import LedgerApp  # noqa: E402
from ledger.services.products import terms_from_input  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def prepare(url: str, loans: int) -> list[str]:
    db = parse_database_url(url)
    if db.is_postgres:
        import psycopg

        from ledger.adapters.persistence import postgres_conninfo

        with psycopg.connect(postgres_conninfo(db), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE')
    app = LedgerApp.from_url(url)
    try:
        refs = []
        for i in range(loans):
            terms = terms_from_input(
                product="repay_on_schedule",
                principal=f"{1000 + i}.00",
                term=12,
                disbursed_on=date(2026, 1, 15),
                daily_rate="0.0005",
            )
            ref = f"B{i}"
            app.open_loan(terms, ref)
            app.set_balance(ref, Decimal(0))  # they fall overdue: something to repay
            refs.append(ref)
        app.close_days(date(2026, 3, 1))
        return refs
    finally:
        app.close()


def load(
    base: str,
    key: str,
    paths: Sequence[tuple[str, str, dict[str, str] | None]],
    rate: float,
    seconds: float,
) -> tuple[list[float], int, float]:
    """Open-loop with one asyncio client: request i is due at ``i / rate`` and its latency
    counts from then (a client falling behind shows, no coordinated omission)."""
    return asyncio.run(_load(base, key, paths, rate, seconds))


async def _load(
    base: str,
    key: str,
    paths: Sequence[tuple[str, str, dict[str, str] | None]],
    rate: float,
    seconds: float,
) -> tuple[list[float], int, float]:
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=10
    ) as client:
        loop = asyncio.get_running_loop()

        async def send(i: int, due: float) -> None:
            nonlocal errors
            method, path, body = paths[i % len(paths)]
            try:
                r = await client.request(method, path, json=body)
                ok = r.status_code < 400
            except httpx.HTTPError:
                ok = False
            latencies.append(loop.time() - due)
            errors += 0 if ok else 1

        started = loop.time() + 0.05
        tasks = []
        for i in range(total):
            due = started + i / rate
            pause = due - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.create_task(send(i, due)))
        await asyncio.gather(*tasks)
        return latencies, errors, loop.time() - started


def report(name: str, latencies: list[float], errors: int, elapsed: float) -> None:
    ordered = sorted(latencies)

    def p(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    print(
        f"{name}: {len(ordered)} requests in {elapsed:.1f} s = {len(ordered) / elapsed:.0f}/s, "
        f"errors {errors}, p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms, mean {statistics.mean(ordered) * 1000:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", help="store URL (default: a fresh SQLite file)")
    parser.add_argument("--loans", type=int, default=200)
    parser.add_argument("--rate", type=float, default=200.0, help="reads per second (200)")
    parser.add_argument("--write-rate", type=float, default=50.0, help="repayments per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="ledger-api-bench-")
    url = args.db or f"sqlite:///{folder}/ledger.db"
    print(f"store: {url}; preparing {args.loans} loans")
    refs = prepare(url, args.loans)
    key, stored = new_key("bench", "operator")
    port = free_port()
    env = {**os.environ, "LEDGER_API_KEYS": stored.line(), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "ledger.bootstrap", "serve", "--host", "127.0.0.1",
         "--port", str(port),
         "--db", url],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as c:
            c.get(f"/loans/{refs[0]}")  # the first read catches the balances projection up
        reads: list[tuple[str, str, dict[str, str] | None]] = [
            ("GET", f"/loans/{r}", None) for r in refs
        ]
        report("balance reads", *load(base, key, reads, args.rate, args.seconds))
        writes: list[tuple[str, str, dict[str, str] | None]] = [
            ("POST", f"/loans/{r}/repayments", {"amount": "1.00", "on": "2026-03-02"}) for r in refs
        ]
        seconds = min(args.seconds, len(writes) / args.write_rate)
        report("repayments", *load(base, key, writes, args.write_rate, seconds))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())

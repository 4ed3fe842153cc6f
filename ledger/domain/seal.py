"""Keyed seals: HMAC-SHA256 under a key the store never holds.

A seal is ``"<key id>:<hex HMAC-SHA256(key, text)>"``. The keys come from configuration
(:func:`ledger.adapters.config.chain_keyring`), never from the database, so someone who can
write to the database alone cannot make a seal that checks. The newest key seals; older keys
stay in the keyring to check what they sealed (key rotation: add a key, keep the old ones).
The hash chain of loan events (:mod:`ledger.domain.chain`), the daily checkpoints and the
snapshots are sealed with it.

The application installs its keyring once (:func:`install_keyring`); the domain reads it when
it records an event, as it reads who is asking (:mod:`ledger.domain.actor`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

SEPARATOR = ":"


@dataclass(frozen=True)
class Keyring:
    """Named keys; ``current`` names the one that seals."""

    keys: Mapping[str, bytes]
    current: str

    def seal(self, text: str) -> str:
        """The seal of ``text`` under the current key."""
        return self._seal(self.current, text)

    def _seal(self, kid: str, text: str) -> str:
        mac = hmac.new(self.keys[kid], text.encode(), hashlib.sha256).hexdigest()
        return f"{kid}{SEPARATOR}{mac}"

    def problem(self, text: str, seal: str) -> str | None:
        """Why ``seal`` is not the seal of ``text``, or ``None`` when it is."""
        kid, _, _ = seal.partition(SEPARATOR)
        if kid not in self.keys:
            return f"sealed with key {kid!r}, which is not configured"
        if not hmac.compare_digest(self._seal(kid, text), seal):
            return f"the seal (key {kid!r}) does not match"
        return None


def is_sealed(value: str) -> bool:
    """A keyed seal (``k1:...``), not an unkeyed sha256 from before keys existed."""
    return SEPARATOR in value


_installed: list[Keyring] = []


def install_keyring(keyring: Keyring) -> None:
    """The keyring of this process (the application installs it when it opens the store)."""
    _installed[:] = [keyring]


def installed_keyring() -> Keyring | None:
    return _installed[0] if _installed else None


def unkeyed(text: str) -> str:
    """sha256 of ``text``, as the chain was before keys (and as it is with no keyring)."""
    return hashlib.sha256(text.encode()).hexdigest()


def keyring_of(entries: Mapping[str, bytes]) -> Keyring:
    """A keyring from ``{kid: key}`` in order, the last one current."""
    if not entries:
        raise ValueError("a keyring needs at least one key")
    return Keyring(dict(entries), list(entries)[-1])

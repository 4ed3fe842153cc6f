"""The payment-gateway port, its settings, and the simulated bank (one adapter of it).

The port (loan-rules §17):

- ``collect(loan_id, on, amount)``: the morning deduction. A synchronous gateway returns what
  it took; an asynchronous one returns ``None`` and the loan records ``DeductionRequested``.
- ``pay(loan_id, on, amount)``: a refund (§12), money back to the borrower.
- :class:`Provider` (asynchronous only): ``submit`` the requests still awaiting a result (it
  must be idempotent by request id: they are sent again until answered), ``results`` for
  those requests available by a day, and ``settlement`` of a day (for reconciliation). A real
  provider implements it and is named by ``$LEDGER_GATEWAY_ADAPTER=package.module:factory``
  (a callable taking the :class:`GatewaySettings`).

The simulated bank keeps each borrower's balance in a
:class:`~ledger.domain.account.LinkedAccount` aggregate in the same store (saved with the
loans, one transaction); a loan without an account has unlimited funds. With
``$LEDGER_GATEWAY_DELAY_DAYS`` = 0 (the default) it answers at once, as a card payment
would; with N >= 1 it is asynchronous: the result of a request of day D is available from
day D + N, the money taken on D. ``$LEDGER_GATEWAY_BOUNCE_RATE`` (0 to 1) bounces that share
of requests, chosen by a hash of the request id so every run bounces the same ones.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Protocol
from uuid import UUID

from ledger.domain.account import LinkedAccount, account_id_for
from ledger.domain.collection import BOUNCED, PARTLY_SETTLED, SETTLED, GatewayResult
from ledger.domain.errors import LedgerError
from ledger.domain.money import ZERO

MAX_DELAY_DAYS = 30


@dataclass(frozen=True)
class DeductionRequest:
    """A request the ledger recorded and awaits a result for."""

    request_id: str
    loan_id: UUID
    on: date
    amount: Decimal


@dataclass(frozen=True)
class GatewaySettings:
    """``$LEDGER_GATEWAY_DELAY_DAYS`` (0 to 30), ``$LEDGER_GATEWAY_BOUNCE_RATE`` (0 to 1),
    ``$LEDGER_GATEWAY_SECRET`` (the webhook's shared secret), ``$LEDGER_GATEWAY_ADAPTER``
    (``module:factory`` of a real provider)."""

    delay_days: int = 0
    bounce_rate: Decimal = ZERO
    secret: str | None = None
    adapter: str | None = None

    @property
    def asynchronous(self) -> bool:
        return self.delay_days > 0 or self.adapter is not None

    @classmethod
    def from_env(cls) -> GatewaySettings:
        delay_text = os.environ.get("LEDGER_GATEWAY_DELAY_DAYS", "").strip() or "0"
        if not re.fullmatch(r"[0-9]{1,2}", delay_text) or int(delay_text) > MAX_DELAY_DAYS:
            raise LedgerError(
                f"LEDGER_GATEWAY_DELAY_DAYS must be a whole number of days from 0 to "
                f"{MAX_DELAY_DAYS}, not {delay_text[:20]!r}"
            )
        rate_text = os.environ.get("LEDGER_GATEWAY_BOUNCE_RATE", "").strip() or "0"
        try:
            rate = Decimal(rate_text) if re.fullmatch(r"[0-9.]{1,10}", rate_text) else None
        except InvalidOperation:
            rate = None
        if rate is None or not ZERO <= rate <= 1:
            raise LedgerError(
                f"LEDGER_GATEWAY_BOUNCE_RATE must be a share from 0 to 1 such as 0.1, not "
                f"{rate_text[:20]!r}"
            )
        adapter = os.environ.get("LEDGER_GATEWAY_ADAPTER", "").strip() or None
        if adapter is not None and not re.fullmatch(r"[\w.]+:\w+", adapter):
            raise LedgerError(
                f"LEDGER_GATEWAY_ADAPTER must name a factory as package.module:factory, not "
                f"{adapter[:40]!r}"
            )
        secret = os.environ.get("LEDGER_GATEWAY_SECRET", "") or None
        return cls(int(delay_text), rate, secret, adapter)


class PaymentGateway(Protocol):
    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal | None:
        """Take ``amount`` now and return what was taken, or ``None``: requested, the result
        comes later (an asynchronous gateway)."""
        ...

    def pay(self, loan_id: UUID, on: date, amount: Decimal) -> None:
        """Pay ``amount`` to the borrower's linked account, or raise."""
        ...

    def changed(self) -> list[LinkedAccount]:
        """Accounts the calls moved, to be saved with the loans."""
        ...


class Provider(Protocol):
    """The asynchronous side of the port, which a real payment provider implements."""

    def submit(self, requests: Sequence[DeductionRequest]) -> None:
        """Send these requests (again, if sent before: idempotent by request id)."""
        ...

    def results(self, requests: Sequence[DeductionRequest], through: date) -> list[GatewayResult]:
        """The results available by ``through`` for these requests (each at most once)."""
        ...

    def settlement(self, on: date, requests: Sequence[DeductionRequest]) -> list[GatewayResult]:
        """The provider's settlement of ``on``: every result it says took money on that day,
        and every bounce of a request of that day (``requests``: the ledger's of that day)."""
        ...


def bounces(request_id: str, rate: Decimal) -> bool:
    """Whether the simulated bank bounces this request: the first 32 bits of the id's
    SHA-256, as a share of 2**32, below ``rate``."""
    share = Decimal(int(hashlib.sha256(request_id.encode()).hexdigest()[:8], 16)) / 2**32
    return share < rate


class SimulatedBank:
    """Collects from the accounts it was given; unlimited funds for any other loan."""

    def __init__(
        self,
        accounts: dict[UUID, LinkedAccount] | None = None,
        settings: GatewaySettings | None = None,
    ) -> None:
        self.accounts: dict[UUID, LinkedAccount] = dict(accounts or {})
        self.settings = settings or GatewaySettings()

    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal | None:
        if self.settings.asynchronous:
            return None  # requested; the result comes from results()
        return self._take(loan_id, on, amount)

    def _take(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        account = self.accounts.get(account_id_for(loan_id))
        if account is None:
            return amount
        return account.collect(on, amount)

    def pay(self, loan_id: UUID, on: date, amount: Decimal) -> None:
        """Credit the linked account; a loan without one (unlimited funds) has no balance to
        move, so nothing is recorded but the loan's ``Refunded``."""
        account = self.accounts.get(account_id_for(loan_id))
        if account is not None:
            account.pay_in(on, amount)

    def changed(self) -> list[LinkedAccount]:
        return [a for a in self.accounts.values() if a.pending_events]

    # the asynchronous side (Provider), when $LEDGER_GATEWAY_DELAY_DAYS >= 1

    def submit(self, requests: Sequence[DeductionRequest]) -> None:
        """Nothing to send: the simulated bank answers from the requests themselves."""

    def results(self, requests: Sequence[DeductionRequest], through: date) -> list[GatewayResult]:
        """Each request of day D is answered from D + delay: bounced (by its hash), else the
        money taken from the account on D (all: settled; some: partly; none: bounced)."""
        found = []
        for r in requests:
            if r.on + timedelta(days=self.settings.delay_days) > through:
                continue
            taken = ZERO
            if not bounces(r.request_id, self.settings.bounce_rate):
                taken = self._take(r.loan_id, r.on, r.amount)
            status = SETTLED if taken == r.amount else PARTLY_SETTLED if taken else BOUNCED
            found.append(GatewayResult(f"sim-{r.request_id}", r.request_id, status, taken, r.on))
        return found

    def settlement(self, on: date, requests: Sequence[DeductionRequest]) -> list[GatewayResult]:
        raise LedgerError(
            "the simulated bank keeps no settlement of its own: reconcile against the "
            "provider's settlement file (--file)"
        )


def provider_from(settings: GatewaySettings, bank: SimulatedBank) -> Provider:
    """The asynchronous provider: the one ``$LEDGER_GATEWAY_ADAPTER`` names, else the bank."""
    if settings.adapter is None:
        return bank
    module_name, _, factory_name = settings.adapter.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as error:
        raise LedgerError(f"LEDGER_GATEWAY_ADAPTER {settings.adapter}: {error}") from None
    provider: Provider = factory(settings)
    return provider

"""The worker's clock is the ledger's one clock (:mod:`ledger.clock`)."""

from ledger.clock import Clock, FakeClock, SystemClock

__all__ = ["Clock", "FakeClock", "SystemClock"]

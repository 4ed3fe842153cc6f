"""What ``ledger audit verify`` reports (:mod:`ledger.domain.replay`): a recorded event or a
correction's recorded state that the facts and the rules do not reproduce, found by comparing
field by field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.domain.chain import NOT_HASHED, plain
from ledger.domain.credit import credit_defaults


@dataclass(frozen=True)
class Discrepancy:
    """A recorded event that the facts and the rules do not reproduce."""

    version: int
    event: str
    field: str
    recorded: str
    recomputed: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "event": self.event,
            "field": self.field,
            "recorded": self.recorded,
            "recomputed": self.recomputed,
        }


METADATA = frozenset({"recorded_by"})  # who asked: a fact about the request, not derived


def _fields(event: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(event).items() if k not in NOT_HASHED and k not in METADATA}


_MISSING = object()


def _show(value: Any) -> str:
    return "(missing)" if value is _MISSING else str(value)


def compare(recorded: Any, recomputed: Any, out: list[Discrepancy]) -> None:
    """A recorded event against the one the replay derived, field by field."""
    kind = type(recorded).__name__
    version = int(recorded.originator_version)
    if type(recomputed) is not type(recorded):
        out.append(Discrepancy(version, kind, "type", kind, type(recomputed).__name__))
        return
    a, b = _fields(recorded), _fields(recomputed)
    for name in sorted(set(a) | set(b)):
        left, right = a.get(name, _MISSING), b.get(name, _MISSING)
        if left != right:
            out.append(Discrepancy(version, kind, name, _show(left), _show(right)))


def compare_state(
    event: Any, expected: dict[str, Any], unreproduced: list[dict[str, Any]], out: list[Discrepancy]
) -> None:
    """A ``Corrected`` event's recorded state against the state recomputed from its facts."""
    version = int(event.originator_version)
    recorded = {**credit_defaults(), **event.state}  # recorded before credit existed: none
    for name in sorted(set(expected) | set(recorded)):
        if expected.get(name, _MISSING) != recorded.get(name, _MISSING):
            out.append(
                Discrepancy(
                    version,
                    "Corrected",
                    f"state.{name}",
                    _show(recorded.get(name, _MISSING)),
                    _show(expected.get(name, _MISSING)),
                )
            )
    recorded_list = plain(event.waivers_not_reproduced)
    if recorded_list != plain(unreproduced):
        out.append(
            Discrepancy(
                version,
                "Corrected",
                "waivers_not_reproduced",
                str(recorded_list),
                str(plain(unreproduced)),
            )
        )

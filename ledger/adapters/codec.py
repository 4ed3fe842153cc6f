"""How an event is written to the store: compact, readable JSON (issue 18, point 5).

The library's JSON transcoder wraps every amount, date and time in a tagged object
(``{"_type_":"decimal_str","_data_":"10000.00"}``): about 30 bytes of tag per value, and an
``object_hook`` call per value to read it back. The event's class already says what each of
its fields is (its annotations), so :class:`LedgerMapper` writes a field annotated
``Decimal``, ``date``, ``datetime``, ``UUID`` or ``Fraction`` (or one of those ``| None``) as
its plain text (``"10000.00"``, ``"2026-02-15"``) and turns it back into its type by the
annotation when the event is read. Everything else (nested lists and dicts, terms,
installments, a snapshot's state) keeps the library's tagged form, so nothing loses its
type. Events stored in the tagged form before this read back as they always did: a tagged
value decodes to its type before the annotation is looked at, and only text is converted.

The stored JSON stays what a person reads: ``ledger loan events`` decodes it, and the SQL
view ``ledger_events_readable`` (:mod:`ledger.adapters.readable`) shows it as JSON.

Reading uses ``orjson`` (the library's own examples swap it in for speed) and walks the
result for tagged values only when the bytes contain one. The hash chain is computed over
the event's fields (:func:`ledger.domain.chain.canonical`), not over the stored bytes, so
the stored form can change without breaking any link.

An upcaster (``upcast_vN_vN+1``, :mod:`ledger.domain.upcasts`) may meet an annotated field
as its text: the annotation conversion runs before the upcasters for the fields the class
has now, and again after them, so new fields an upcaster sets as text are converted too.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
)
from eventsourcing.utils import get_topic, resolve_topic

from ledger.domain.money import fraction_text

TAG = b'"_type_"'  # the library's tagged form
SHORT_TAG = b'{"#'  # this module's

# the annotated types written as plain text: (type, to text, from text)
PLAIN: dict[type, tuple[Callable[[Any], str], Callable[[str], Any]]] = {
    Decimal: (str, Decimal),
    date: (date.isoformat, date.fromisoformat),
    datetime: (datetime.isoformat, datetime.fromisoformat),
    UUID: (lambda u: cast(UUID, u).hex, UUID),
    Fraction: (fraction_text, Fraction),
}
NOT_STATE = frozenset({"originator_id", "originator_version"})


PlainFields = tuple[tuple[str, type], ...]
_plain_fields_of: dict[type, PlainFields] = {}


def plain_fields(cls: type) -> PlainFields:
    """The fields of an event class written as plain text: ``(name, type)`` for each field
    annotated with one of :data:`PLAIN`'s types, or that type ``| None`` (worked out once per
    class)."""
    found = _plain_fields_of.get(cls)
    if found is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # an annotation that does not resolve: keep the tagged form
            hints = {}
        kinds = ((name, _plain_kind(hint)) for name, hint in hints.items() if name not in NOT_STATE)
        found = _plain_fields_of[cls] = tuple((n, k) for n, k in kinds if k is not None)
    return found


def _plain_kind(hint: Any) -> type | None:
    if hint in PLAIN:
        return cast(type, hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and args[0] in PLAIN and len(typing.get_args(hint)) == 2:
            return cast(type, args[0])
    return None


# the tags of values nested in lists and dicts: ``{"#dec": "94.64"}`` (the library writes
# ``{"_type_": "decimal_str", "_data_": "94.64"}``, which still reads)
SHORT_TAGS = {
    "decimal_str": "#dec",
    "date_iso": "#date",
    "datetime_iso": "#time",
    "uuid_hex": "#uuid",
    "fraction": "#frac",
    "loan_terms": "#terms",
    "installment": "#inst",
}


class LedgerTranscoder(JSONTranscoder):
    """The library's JSON transcoder (the same registered transcodings) with short tags for
    nested values, reading with ``orjson``: tags are resolved by a walk, only when the bytes
    hold one. A one-key object whose key is a registered ``#`` tag is a tagged value."""

    def __init__(self) -> None:
        super().__init__()
        self.short: dict[str, Any] = {}

    def register(self, transcoding: Any) -> None:
        super().register(transcoding)
        self.short[SHORT_TAGS.get(transcoding.name, "#" + transcoding.name)] = transcoding

    def _encode_obj(self, o: Any) -> dict[str, Any]:
        long_form = super()._encode_obj(o)
        return {SHORT_TAGS.get(long_form["_type_"], "#" + long_form["_type_"]): long_form["_data_"]}

    def decode(self, data: bytes) -> Any:
        data = bytes(data)  # a memoryview would not find the tags below
        obj = orjson.loads(data)
        return self._untag(obj) if TAG in data or SHORT_TAG in data else obj

    def _untag(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            for key, value in obj.items():
                if isinstance(value, dict | list):
                    obj[key] = self._untag(value)
            if len(obj) == 1:
                ((key, value),) = obj.items()
                transcoding = self.short.get(key) if key.startswith("#") else None
                return obj if transcoding is None else transcoding.decode(value)
            return self._decode_obj(obj)
        if isinstance(obj, list):
            return [self._untag(v) if isinstance(v, dict | list) else v for v in obj]
        return obj


class LedgerMapper(Mapper[UUID]):
    """Writes annotated amounts, dates, times and ids as plain text; reads them back by the
    class's annotations (see the module's docstring)."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = type(domain_event)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        for name, kind in plain_fields(cls):
            value = state.get(name)
            if type(value) is kind:
                state[name] = PLAIN[kind][0](value)
        stored_state = self.transcoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(cls),
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        stored_state = stored_event.state
        if self.cipher:
            stored_state = self.cipher.decrypt(stored_state)
        if self.compressor:
            stored_state = self.compressor.decompress(stored_state)
        try:
            state: dict[str, Any] = self.transcoder.decode(stored_state)
        except Exception as error:  # the library's error, naming the event that failed
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic "
                f"'{stored_event.topic}', originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {error}"
            ) from error
        # the compact form only: in an event stored in the library's tagged form (every such
        # event has a tagged timestamp), text in an annotated field was written as text
        fields = plain_fields(cls) if TAG not in stored_state else ()
        _from_text(state, fields)
        originator_id = stored_event.originator_id
        state["originator_id"] = (
            originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        )
        state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        if from_version < class_version:
            while from_version < class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
                from_version += 1
            _from_text(state, fields)
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event


def _from_text(state: dict[str, Any], fields: PlainFields) -> None:
    for name, kind in fields:
        value = state.get(name)
        if type(value) is str:
            state[name] = PLAIN[kind][1](value)


def stored_text(value: Any) -> str:
    """A stored amount, date or id as its text, whichever form it was written in: plain
    (``"2026-02-15"``), short-tagged (``{"#date": "2026-02-15"}``) or the library's tagged
    form (``{"_type_": ..., "_data_": ...}``)."""
    if isinstance(value, dict):
        value = value["_data_"] if "_data_" in value else next(iter(value.values()))
    text = value
    assert isinstance(text, str), value
    return text

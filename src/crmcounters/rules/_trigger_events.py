"""What triggers react to (R5, R10): the kinds of trigger, the events beyond the timeline
that a host tells the engine about, and the fields a trigger's filter may test.

A task status trigger (R5) filters on the task's fields, as it always has. The
other triggers (R10) filter on the item's fields (as rule conditions do, custom
ones as ``field:NAME``) and on the event's own fields, written ``event:NAME``:
the message text of an incoming e-mail, call or chat message, the amount and
currency of a payment, the new and previous value of a changed field.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from .. import _validate as v
from .._errors import ValidationError
from .._events import IncomingChannel, IncomingMessage
from .._items import FieldValue, Item, checked_amount
from ._conditions import (
    ITEM_FIELDS,
    Condition,
    FieldType,
    compile_condition,
    item_getter,
)

__all__ = [
    "EVENT_FIELDS",
    "EVENT_PREFIX",
    "FieldChanged",
    "PaymentReceived",
    "TriggerEvent",
    "compile_event_condition",
    "event_schema",
    "event_values",
    "trigger_event_of",
]


class TriggerEvent(enum.StrEnum):
    """What a trigger reacts to (R5, R10)."""

    TASK_STATUS = "task_status"
    INCOMING_EMAIL = "incoming_email"
    INCOMING_CALL = "incoming_call"
    MISSED_CALL = "missed_call"
    CHAT_MESSAGE = "chat_message"
    PAYMENT_RECEIVED = "payment_received"
    FIELD_CHANGED = "field_changed"


_OF_CHANNEL = {
    IncomingChannel.EMAIL: TriggerEvent.INCOMING_EMAIL,
    IncomingChannel.CALL: TriggerEvent.INCOMING_CALL,
    IncomingChannel.MISSED_CALL: TriggerEvent.MISSED_CALL,
    IncomingChannel.CHAT: TriggerEvent.CHAT_MESSAGE,
    # An order payment recorded as an incoming message (I1) is a payment without an amount:
    # feed `PaymentReceived` instead when a filter needs the amount. A task comment fires
    # no R10 trigger.
    IncomingChannel.PAYMENT: TriggerEvent.PAYMENT_RECEIVED,
}

#: The prefix of an event's own fields in a trigger's filter (R10).
EVENT_PREFIX = "event:"

_MESSAGE_FIELDS: Mapping[str, FieldType] = {"text": FieldType.STRING}
#: The event fields each kind of trigger (other than task status) may filter on; for a field
#: change, "value" and "previous" have the type of the field the trigger watches.
EVENT_FIELDS: Mapping[TriggerEvent, Mapping[str, FieldType]] = {
    TriggerEvent.INCOMING_EMAIL: _MESSAGE_FIELDS,
    TriggerEvent.INCOMING_CALL: _MESSAGE_FIELDS,
    TriggerEvent.MISSED_CALL: _MESSAGE_FIELDS,
    TriggerEvent.CHAT_MESSAGE: _MESSAGE_FIELDS,
    TriggerEvent.PAYMENT_RECEIVED: {
        "amount": FieldType.NUMBER,
        "currency": FieldType.STRING,
        "text": FieldType.STRING,
    },
    TriggerEvent.FIELD_CHANGED: {"value": FieldType.STRING, "previous": FieldType.STRING},
}


def _amount(value: Decimal | int | str) -> Decimal:
    """The same money check as an item's amount (plain ASCII decimals, bounded), required."""
    found = checked_amount(value)
    if found is None:
        raise ValidationError("amount", "a payment needs an amount")
    return found


@attrs.frozen(kw_only=True)
class PaymentReceived:
    """The client paid for the item (I1 "order payment"; the input of payment triggers, R10).

    Like `TaskStatusChanged`, not a timeline event: the host tells the
    engine after storing the payment (and its incoming activity).
    """

    id: str = attrs.field(validator=v.an_id)
    item_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    amount: Decimal = attrs.field(converter=_amount)
    currency: str = attrs.field(default="", validator=v.text)


def _value(_instance: Any, attribute: Any, value: object) -> None:
    if value is not None and not isinstance(value, str | int | float | bool | Decimal):
        raise ValidationError(attribute.name, f"not a field value: {value!r}")


@attrs.frozen(kw_only=True)
class FieldChanged:
    """A field of the item changed from `previous` to `value` (the input of field triggers,
    R10).

    `field` is a built-in item field ("title", "amount", "responsible_id", …)
    or a custom one, ``field:NAME``. The host tells the engine after storing
    the item; the engine derives one itself when a rule sets a field or
    changes the responsible (R9), as part of the cascade (R6).
    """

    id: str = attrs.field(validator=v.an_id)
    item_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    field: str = attrs.field(validator=v.an_id)
    value: FieldValue | Decimal = attrs.field(default=None, validator=_value)
    previous: FieldValue | Decimal = attrs.field(default=None, validator=_value)
    by_user_id: str | None = attrs.field(default=None, validator=v.optional_id)


def trigger_event_of(event: object) -> TriggerEvent | None:
    """The kind of trigger an incoming message, payment or field change may fire, else None."""
    if isinstance(event, IncomingMessage):
        return _OF_CHANNEL.get(event.channel)
    if isinstance(event, PaymentReceived):
        return TriggerEvent.PAYMENT_RECEIVED
    if isinstance(event, FieldChanged):
        return TriggerEvent.FIELD_CHANGED
    return None


def event_values(event: IncomingMessage | PaymentReceived | FieldChanged) -> dict[str, Any]:
    """The event's own fields as a filter reads them (``event:NAME``)."""
    if isinstance(event, IncomingMessage):
        return {"text": event.text}  # a payment recorded this way has no amount (None)
    if isinstance(event, PaymentReceived):
        return {"amount": event.amount, "currency": event.currency, "text": ""}
    return {"value": event.value, "previous": event.previous}


def event_schema(kind: TriggerEvent, watched: FieldType | None) -> Mapping[str, FieldType]:
    """The fields a filter of a `kind` trigger may test: the item's, and ``event:NAME``."""
    fields = dict(EVENT_FIELDS.get(kind, {}))
    if kind is TriggerEvent.FIELD_CHANGED and watched is not None:
        fields = dict.fromkeys(fields, watched)
    return {**ITEM_FIELDS, **{f"{EVENT_PREFIX}{name}": one for name, one in fields.items()}}


#: What an R10 trigger's filter is evaluated on: the item, and the event's own fields.
Subject = tuple[Item, Mapping[str, Any]]


def _getter(name: str) -> Callable[[Subject], Any]:
    if name.startswith(EVENT_PREFIX):
        key = name[len(EVENT_PREFIX) :]
        return lambda subject: subject[1].get(key)
    get = item_getter(name)
    return lambda subject: get(subject[0])


def compile_event_condition(condition: Condition | None) -> Callable[[Subject], bool]:
    """A fast test of a checked R10 filter on (item, event values); None always holds."""
    if condition is None:
        return lambda _subject: True
    return compile_condition(condition, _getter)

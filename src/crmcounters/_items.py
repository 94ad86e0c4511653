"""Items: the CRM elements (leads, deals, invoices, smart processes) of SPEC section 1."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from . import _validate as v
from ._errors import ValidationError
from ._limits import MAX_AMOUNT_DIGITS, MAX_FIELDS, shown
from ._pipelines import check_entity_type, has_pipelines

__all__ = ["FieldValue", "Item"]

#: The values a custom field may hold (they must survive a JSON round trip).
FieldValue = str | int | float | bool | None
_FIELD_TYPES = (str, int, float, bool, type(None))


def _freeze_fields(value: Mapping[str, FieldValue]) -> Mapping[str, FieldValue]:
    if not isinstance(value, Mapping):
        raise ValidationError("fields", f"expected a mapping, got {type(value).__name__}")
    if len(value) > MAX_FIELDS:
        raise ValidationError(
            "fields", f"{len(value):,} custom fields; at most {MAX_FIELDS:,} are allowed"
        )
    frozen: dict[str, FieldValue] = {}
    for key, one in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError("fields", f"field names are non-empty strings, got {shown(key)}")
        v.check_id("fields", key)
        where = f"fields[{shown(key)}]"
        if not isinstance(one, _FIELD_TYPES):
            raise ValidationError(where, f"unsupported value type {type(one).__name__}")
        if isinstance(one, float) and not math.isfinite(one):
            raise ValidationError(where, f"must be a finite number, got {one}")
        if isinstance(one, str):
            v.check_text(where, one)
        elif isinstance(one, int) and not isinstance(one, bool) and one.bit_length() > 128:
            raise ValidationError(where, "a whole number of more than 128 bits")
        frozen[key] = one
    return MappingProxyType(frozen)


#: An amount written as text: plain ASCII digits, a sign, at most one decimal point.
_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z", re.ASCII)


def checked_amount(value: Decimal | int | str | None) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool | float):
        raise ValidationError("amount", f"use Decimal, int or str for money, got {value!r}")
    if isinstance(value, str):
        if not _AMOUNT.match(value):
            raise ValidationError(
                "amount",
                f"expected a plain decimal such as 1250.00 (ASCII digits, no separators), "
                f"got {shown(value)}",
            )
        value = Decimal(value)
    elif isinstance(value, int):
        if value.bit_length() > 4 * MAX_AMOUNT_DIGITS:  # far more digits than allowed
            raise ValidationError("amount", f"more than {MAX_AMOUNT_DIGITS} digits")
        value = Decimal(value)
    elif not isinstance(value, Decimal):
        raise ValidationError(
            "amount", f"use Decimal, int or str for money, got {type(value).__name__}"
        )
    if not value.is_finite():
        raise ValidationError("amount", f"must be a finite number, got {shown(value)}")
    digits = len(value.as_tuple().digits)
    exponent = int(value.as_tuple().exponent)  # finite: a whole number
    if digits > MAX_AMOUNT_DIGITS or not -MAX_AMOUNT_DIGITS <= exponent <= MAX_AMOUNT_DIGITS:
        raise ValidationError(
            "amount", f"more than {MAX_AMOUNT_DIGITS} digits, or too large or too small"
        )
    return value


def _entity_type(_instance: Any, attribute: Any, value: str) -> None:
    check_entity_type(attribute.name, value)


@attrs.frozen(kw_only=True)
class Item:
    """A CRM element with one responsible (C2); it sits in one stage of one pipeline.

    Contacts and companies have no pipeline and no stage: their `pipeline_id`
    and `stage_id` are None, and required for every other entity type.
    """

    id: str = attrs.field(validator=v.an_id)
    entity_type: str = attrs.field(validator=_entity_type)
    pipeline_id: str | None = attrs.field(default=None, validator=v.optional_id)
    stage_id: str | None = attrs.field(default=None, validator=v.optional_id)
    responsible_id: str = attrs.field(validator=v.an_id)
    created_at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    title: str = attrs.field(default="", validator=v.text)
    amount: Decimal | None = attrs.field(default=None, converter=checked_amount)
    currency: str = attrs.field(default="", validator=v.text)
    client: str = attrs.field(default="", validator=v.text)
    fields: Mapping[str, FieldValue] = attrs.field(
        factory=dict, converter=_freeze_fields, hash=False
    )

    def __attrs_post_init__(self) -> None:
        placed = self.pipeline_id is not None, self.stage_id is not None
        if has_pipelines(self.entity_type):
            for field, given in zip(("pipeline_id", "stage_id"), placed, strict=True):
                if not given:
                    raise ValidationError(field, f"a {self.entity_type} sits in a pipeline stage")
        elif any(placed):
            field = "pipeline_id" if placed[0] else "stage_id"
            raise ValidationError(field, f"a {self.entity_type} has no pipeline or stage")
        if self.amount is not None and not self.amount.is_finite():
            raise ValidationError("amount", f"must be a finite number, got {self.amount}")


_SET = object.__setattr__


def trusted_item(
    id: str,
    entity_type: str,
    pipeline_id: str | None,
    stage_id: str | None,
    responsible_id: str,
    created_at: datetime,
    title: str,
    amount: Decimal | None,
    currency: str,
    client: str,
    fields: Mapping[str, FieldValue],
) -> Item:
    """An `Item` built from values a bulk loader has already checked, without checking again.

    For the portal loader only (issue 15), as `trusted_activity`: `created_at`
    in UTC and in range, `fields` frozen by `freeze_fields`, the placement and
    amount rules of `__attrs_post_init__` checked by the caller.
    """
    item: Item = object.__new__(Item)
    _SET(item, "id", id)
    _SET(item, "entity_type", entity_type)
    _SET(item, "pipeline_id", pipeline_id)
    _SET(item, "stage_id", stage_id)
    _SET(item, "responsible_id", responsible_id)
    _SET(item, "created_at", created_at)
    _SET(item, "title", title)
    _SET(item, "amount", amount)
    _SET(item, "currency", currency)
    _SET(item, "client", client)
    _SET(item, "fields", fields)
    return item


#: `Item`'s own converters for `fields` and `amount`, for bulk loaders.
freeze_fields = _freeze_fields
amount_of = checked_amount
#: The frozen empty `fields`: one for every item a bulk reader builds without custom fields.
NO_FIELDS = freeze_fields({})

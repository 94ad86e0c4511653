"""Reading JSON documents with a path in every error (shared by the portal and rule-set formats)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import Any, NoReturn, TypeVar

from ._errors import CrmCountersError, DataFormatError, ValidationError
from ._validate import is_aware

__all__ = ["Reader", "format_datetime", "parse_document"]

_T = TypeVar("_T")


def parse_document(source: str | bytes) -> Any:
    """Parse JSON text; a syntax error becomes a `DataFormatError` with line and column."""
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            "$", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise DataFormatError("$", f"not UTF-8 text: {exc.reason}") from None


def format_datetime(value: datetime) -> str:
    """ISO 8601 with its UTC offset, as the formats store every instant."""
    return value.isoformat()


class Reader:
    """One JSON object at `path`; each getter checks the type and names the path on failure."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise DataFormatError(path, f"expected an object, got {_json_type(data)}")
        self.data: dict[str, Any] = data
        self.path = path

    def at(self, key: str) -> str:
        """The path of `key` inside this object."""
        return f"{self.path}.{key}"

    def fail(self, key: str, problem: str) -> NoReturn:
        """Raise a `DataFormatError` at `key`."""
        raise DataFormatError(self.at(key), problem)

    def has(self, key: str) -> bool:
        """True when `key` is present and not null."""
        return self.data.get(key) is not None

    def reject_unknown(self, known: set[str] | frozenset[str]) -> None:
        """Refuse keys this format does not define (a typo would otherwise be lost)."""
        for key in self.data:
            if key not in known:
                self.fail(key, f"unknown key; expected one of {', '.join(sorted(known))}")

    def _get(self, key: str, types: type[_T] | tuple[type, ...], label: str, default: Any) -> Any:
        value = self.data.get(key)
        if value is None:
            if default is _REQUIRED:
                self.fail(key, f"missing; expected {label}")
            return default
        if isinstance(value, bool) and bool not in _as_tuple(types):
            self.fail(key, f"expected {label}, got {_json_type(value)}")
        if not isinstance(value, types):
            self.fail(key, f"expected {label}, got {_json_type(value)}")
        return value

    def text(self, key: str, default: Any = None) -> Any:
        """A string (or `default` when absent; required when `default` is REQUIRED)."""
        return self._get(key, str, "a string", default)

    def whole(self, key: str, default: Any = None) -> Any:
        """A whole number."""
        return self._get(key, int, "a whole number", default)

    def number(self, key: str, default: Any = None) -> Any:
        """A number (int or float)."""
        return self._get(key, (int, float), "a number", default)

    def flag(self, key: str, default: Any = None) -> Any:
        """true or false."""
        return self._get(key, bool, "true or false", default)

    def array(self, key: str, default: Any = None) -> Any:
        """An array."""
        return self._get(key, list, "an array", default)

    def object(self, key: str) -> Reader:
        """A nested object as a `Reader` (an empty one when absent)."""
        value = self.data.get(key)
        return Reader({} if value is None else value, self.at(key))

    def instant(self, key: str, default: Any = None) -> Any:
        """An ISO 8601 instant with a UTC offset (naive values are refused, G2)."""
        text = self.text(key, default)
        if text is None or text is default:
            return text
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self.fail(key, f"not an ISO 8601 datetime: {text!r}")
        if not is_aware(value):
            self.fail(key, f"naive datetime {text!r}; add a UTC offset such as +01:00 or Z")
        return value

    def day(self, key: str, default: Any = None) -> Any:
        """An ISO 8601 calendar date."""
        text = self.text(key, default)
        if text is None or text is default:
            return text
        return parse_date(text, self.at(key))

    def strings(self, key: str) -> tuple[str, ...]:
        """An array of strings (empty when absent)."""
        values = self.array(key, [])
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise DataFormatError(
                    f"{self.at(key)}[{index}]", f"expected a string, got {_json_type(value)}"
                )
        return tuple(values)

    def ints(self, key: str, default: Any = ()) -> Any:
        """An array of whole numbers (`default` when absent)."""
        values = self.array(key, None)
        if values is None:
            return default
        for index, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int):
                raise DataFormatError(
                    f"{self.at(key)}[{index}]", f"expected a whole number, got {_json_type(value)}"
                )
        return tuple(values)

    def objects(self, key: str) -> Iterator[Reader]:
        """Each object of an array (none when absent)."""
        for index, value in enumerate(self.array(key, [])):
            yield Reader(value, f"{self.at(key)}[{index}]")


def parse_date(text: str, path: str) -> date:
    """An ISO calendar date, or a `DataFormatError` at `path`."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DataFormatError(path, f"not an ISO 8601 date (YYYY-MM-DD): {text!r}") from None


def build(path: str, make: Callable[..., _T], /, **kwargs: Any) -> _T:
    """Call a model constructor; a `ValidationError` becomes a `DataFormatError` at its field."""
    try:
        return make(**kwargs)
    except ValidationError as exc:
        raise DataFormatError(f"{path}.{exc.field}", exc.problem) from None
    except CrmCountersError as exc:
        raise DataFormatError(path, str(exc)) from None


_REQUIRED: Any = object()
#: Pass as `default` to make a key required.
REQUIRED = _REQUIRED


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__

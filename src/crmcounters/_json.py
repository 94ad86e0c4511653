"""Reading JSON documents with a path in every error (shared by the portal and rule-set formats)."""

from __future__ import annotations

import json
import math
import re
from array import array
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from itertools import accumulate
from typing import Any, NoReturn, TypeVar

from ._errors import CrmCountersError, DataFormatError, ValidationError
from ._limits import MAX_JSON_DEPTH, MAX_NUMBER_LENGTH, MAX_TEXT_LENGTH, shown
from ._validate import is_aware

__all__ = ["Reader", "format_datetime", "parse_document"]

_T = TypeVar("_T")


def parse_document(source: str | bytes) -> Any:
    """Parse JSON text within the limits of docs/reliability.md; any fault is a
    `DataFormatError` naming its JSON path (or line and column for a syntax error).

    Before parsing, arrays and objects nested deeper than `MAX_JSON_DEPTH` are
    refused (the parser would recurse once per level); while parsing, number
    literals longer than `MAX_NUMBER_LENGTH`, NaN and Infinity are set aside,
    and objects with a repeated key are marked; a walk over the result then
    names the path of the first of those, of a non-finite number, of a text
    longer than `MAX_TEXT_LENGTH` and of a lone surrogate (not Unicode text:
    it could not be written out again).
    """
    if isinstance(source, bytes | bytearray):
        try:
            text = bytes(source).decode(json.detect_encoding(source))
        except UnicodeDecodeError as exc:
            raise DataFormatError("$", f"not UTF-8 text: {exc.reason}") from None
    elif isinstance(source, str):
        text = source
    else:
        raise DataFormatError("$", f"expected JSON text, got {type(source).__name__}")
    _check_depth(text)
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_Unsupported,
        )
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            "$", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:  # pragma: no cover - _check_depth bounds the nesting first
        raise DataFormatError("$", f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    found = _fault(document)
    if found is not None:
        parts, problem = found
        raise DataFormatError("$" + "".join(reversed(parts)), problem)
    return document


#: A JSON string, escapes included (the unrolled form: no backtracking on long strings).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
#: Opening brackets as +1 and closing ones as -1, as signed bytes (see `_check_depth`).
_STEPS = str.maketrans({"[": "\x01", "{": "\x01", "]": "\xff", "}": "\xff"})
_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than `MAX_JSON_DEPTH`, in one linear pass, before parsing.

    Brackets inside strings do not count: strings are removed first. The depth
    is the largest running sum of +1 per opening and -1 per closing bracket.
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    steps = array("b", brackets.translate(_STEPS).encode("latin-1"))
    if max(accumulate(steps, initial=0)) > MAX_JSON_DEPTH:
        raise DataFormatError("$", f"arrays and objects nested deeper than {MAX_JSON_DEPTH} levels")


class _Duplicated(dict[str, Any]):
    """A JSON object in which `key` appeared more than once (refused by `_fault`)."""

    key: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    marked = _Duplicated(result)
    for key, _value in pairs:
        if key in seen:
            marked.key = key
            break
        seen.add(key)
    return marked


class _Unsupported:
    """A number literal set aside while parsing: too long, or NaN/Infinity (not JSON)."""

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def problem(self) -> str:
        if self.literal in ("NaN", "Infinity", "-Infinity"):
            return f"{self.literal} is not a JSON number"
        return (
            f"a number of {len(self.literal):,} characters; numbers are at most "
            f"{MAX_NUMBER_LENGTH} characters long"
        )


def _integer(literal: str) -> int | _Unsupported:
    return _Unsupported(literal) if len(literal) > MAX_NUMBER_LENGTH else int(literal)


def _float(literal: str) -> float | _Unsupported:
    return _Unsupported(literal) if len(literal) > MAX_NUMBER_LENGTH else float(literal)


def _fault(value: object) -> tuple[list[str], str] | None:
    """The first fault in a parsed document: its path parts (innermost first) and problem."""
    if isinstance(value, str):
        problem = _text_fault(value)
        return None if problem is None else ([], problem)
    if isinstance(value, dict):
        if isinstance(value, _Duplicated):
            return [_key_part(value.key)], "repeated key (each key may appear once)"
        for key, one in value.items():
            problem = _text_fault(key)
            if problem is not None:
                return [_key_part(key)], f"key: {problem}"
            found = _fault(one)
            if found is not None:
                found[0].append(_key_part(key))
                return found
        return None
    if isinstance(value, list):
        for index, one in enumerate(value):
            if isinstance(one, int):  # the common case of long arrays, kept quick
                continue
            found = _fault(one)
            if found is not None:
                found[0].append(f"[{index}]")
                return found
        return None
    if isinstance(value, _Unsupported):
        return [], value.problem()
    if isinstance(value, float) and not math.isfinite(value):
        return [], "a number too large for a float"
    return None


def _text_fault(text: str) -> str | None:
    if len(text) > MAX_TEXT_LENGTH:
        return f"a text of {len(text):,} characters; texts are at most {MAX_TEXT_LENGTH:,}"
    if not text.isascii() and _SURROGATE.search(text):
        return "a lone surrogate (\\ud800-\\udfff) is not Unicode text"
    return None


def _key_part(key: str) -> str:
    """`key` as a path step: `.key` for a plain name, else `[<repr>]`, cut short."""
    if key.isidentifier() and key.isascii() and len(key) <= 60:
        return f".{key}"
    return f"[{shown(key)}]"


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

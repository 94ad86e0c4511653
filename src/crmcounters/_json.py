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
from ._limits import MAX_JSON_DEPTH, MAX_NUMBER_LENGTH, shown
from ._validate import is_aware

__all__ = ["Reader", "format_datetime", "parse_document"]

_T = TypeVar("_T")


def parse_document(source: str | bytes) -> Any:
    """Parse JSON text within the limits of docs/reliability.md; any fault is a
    `DataFormatError` naming its JSON path (or line and column for a syntax error).

    Before parsing, arrays and objects nested deeper than `MAX_JSON_DEPTH` are
    refused (the parser would recurse once per level). While parsing, number
    literals longer than `MAX_NUMBER_LENGTH`, numbers too large for a float,
    NaN and Infinity are set aside and objects with a repeated key marked;
    then, only if the parser met one of those or the text may hold a lone
    surrogate (not Unicode text: no output could write it), a walk over the
    result names the path of the first fault.
    """
    if isinstance(source, str):
        try:
            data = source.encode("utf-8")
            suspect = False
        except UnicodeEncodeError:  # a lone surrogate in the text itself
            data, suspect = source.encode("utf-8", "surrogatepass"), True
        text = source
    elif isinstance(source, bytes | bytearray):
        data = bytes(source)
        encoding = json.detect_encoding(data)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DataFormatError("$", f"not UTF-8 text: {exc.reason}") from None
        if not encoding.startswith("utf-8"):  # UTF-16 or 32: scan it as UTF-8 (ASCII-safe)
            data = text.encode("utf-8", "surrogatepass")
        suspect = False
    else:
        raise DataFormatError("$", f"expected JSON text, got {type(source).__name__}")
    _check_depth(data)
    flagged: list[bool] = []
    try:
        document = json.loads(
            text,
            object_pairs_hook=_objects_in(flagged),
            parse_int=_integers_in(flagged),
            parse_float=_floats_in(flagged),
            parse_constant=_constants_in(flagged),
        )
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            "$", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:  # pragma: no cover - _check_depth bounds the nesting first
        raise DataFormatError("$", f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    if flagged or suspect or _SURROGATE_ESCAPE.search(data):
        found = _fault(document)
        if found is not None:
            parts, problem = found
            raise DataFormatError("$" + "".join(reversed(parts)), problem)
    return document


#: What `_check_depth` keeps: brackets, and quotes to tell the brackets inside strings.
_DROPPED = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_STRING = re.compile(rb'"[^"]*"')
#: Opening brackets as +1 and closing ones as -1 (255), read as signed bytes.
_STEPS = bytes(
    {ord("["): 1, ord("{"): 1, ord("]"): 255, ord("}"): 255}.get(byte, 0) for byte in range(256)
)
#: A \uD800-\uDFFF escape: half of a surrogate pair, or a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_PLAIN_KEY = re.compile(r"[\w:@+\-]{1,60}\Z", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_depth(data: bytes) -> None:
    """Refuse nesting deeper than `MAX_JSON_DEPTH`, in linear passes, before parsing.

    Brackets inside strings do not count: escaped backslashes and quotes are
    removed, then all but quotes and brackets, then what is between quotes.
    The depth is the largest running sum of +1 per opening bracket and -1 per
    closing one.
    """
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = _STRING.sub(b"", data.translate(None, _DROPPED))
    if max(accumulate(array("b", brackets.translate(_STEPS)), initial=0)) > MAX_JSON_DEPTH:
        raise DataFormatError("$", f"arrays and objects nested deeper than {MAX_JSON_DEPTH} levels")


class _Duplicated(dict[str, Any]):
    """A JSON object in which `key` appeared more than once (refused by `_fault`)."""

    key: str


def _objects_in(flagged: list[bool]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def make(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) == len(pairs):
            return result
        flagged.append(True)
        seen: set[str] = set()
        marked = _Duplicated(result)
        for key, _value in pairs:
            if key in seen:
                marked.key = key
                break
            seen.add(key)
        return marked

    return make


class _Unsupported:
    """A number literal set aside while parsing: too long or too large, or NaN/Infinity."""

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def problem(self) -> str:
        if self.literal in ("NaN", "Infinity", "-Infinity"):
            return f"{self.literal} is not a JSON number"
        if len(self.literal) <= MAX_NUMBER_LENGTH:
            return f"{shown(self.literal)} is too large for a float"
        return (
            f"a number of {len(self.literal):,} characters; numbers are at most "
            f"{MAX_NUMBER_LENGTH} characters long"
        )


def _integers_in(flagged: list[bool]) -> Callable[[str], int | _Unsupported]:
    def make(literal: str) -> int | _Unsupported:
        if len(literal) > MAX_NUMBER_LENGTH:
            flagged.append(True)
            return _Unsupported(literal)
        return int(literal)

    return make


def _floats_in(flagged: list[bool]) -> Callable[[str], float | _Unsupported]:
    def make(literal: str) -> float | _Unsupported:
        value = float(literal) if len(literal) <= MAX_NUMBER_LENGTH else math.inf
        if math.isfinite(value):
            return value
        flagged.append(True)
        return _Unsupported(literal)

    return make


def _constants_in(flagged: list[bool]) -> Callable[[str], _Unsupported]:
    def make(literal: str) -> _Unsupported:
        flagged.append(True)
        return _Unsupported(literal)

    return make


def _fault(value: object) -> tuple[list[str], str] | None:
    """The first fault in a parsed document: its path parts (innermost first) and problem."""
    if isinstance(value, str):
        problem = _text_fault(value)
        return None if problem is None else ([], problem)
    if isinstance(value, dict):
        if isinstance(value, _Duplicated):
            return [key_part(value.key)], "repeated key (each key may appear once)"
        for key, one in value.items():
            problem = _text_fault(key)
            if problem is not None:
                return [key_part(key)], f"key: {problem}"
            found = _fault(one)
            if found is not None:
                found[0].append(key_part(key))
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
    return None


def _text_fault(text: str) -> str | None:
    if not text.isascii() and _SURROGATE.search(text):
        return "a lone surrogate (\\ud800-\\udfff) is not Unicode text"
    return None


def key_part(key: str) -> str:
    """`key` as a JSON path step: `.key` for a plain name, else `[<repr>]`, cut short."""
    if _PLAIN_KEY.match(key):
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
        """The path of `key` inside this object (an odd or long key shown quoted, cut short)."""
        return self.path + key_part(key)

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

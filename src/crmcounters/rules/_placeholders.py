"""Texts with placeholders for item data (R3): a small parser over a whitelisted mapping.

A template is split once, when it is defined, into plain text and placeholders
from a fixed list. Rendering looks each placeholder up in a dictionary of
strings built by the engine; user text is never passed to `str.format`,
`eval` or `getattr`, so ``{{__class__}}`` is refused and ``{0.__init__}`` is
just text.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .._errors import ValidationError
from .._items import FieldValue
from .._limits import MAX_RENDERED_LENGTH, MAX_TEMPLATE_LENGTH
from .._validate import check_text

__all__ = ["PLACEHOLDERS", "FieldPlaceholder", "Template", "parse_template"]

#: The placeholders a text may use besides ``{{Field:NAME}}`` (R3).
PLACEHOLDERS = ("Title", "Amount", "Currency", "Client", "Responsible", "Stage")
_FIELD_PREFIX = "Field:"
_OPEN = "{{"
_CLOSE = "}}"


@attrs.frozen(kw_only=True)
class FieldPlaceholder:
    """``{{Field:NAME}}``: the value of the item's custom field NAME."""

    name: str


#: One piece of a parsed template: plain text, a built-in placeholder, or a field.
_Part = str | FieldPlaceholder


@attrs.frozen(kw_only=True)
class _Named:
    name: str


def parse_template(source: str) -> tuple[tuple[_Part | _Named, ...], list[str]]:
    """Split `source` into parts; also return the problems found (empty when valid)."""
    parts: list[_Part | _Named] = []
    problems: list[str] = []
    text: list[str] = []
    position = 0
    while True:
        start = source.find(_OPEN, position)
        if start < 0:
            text.append(source[position:])
            break
        text.append(source[position:start])
        end = source.find(_CLOSE, start + len(_OPEN))
        if end < 0:
            problems.append(
                f"unclosed placeholder at character {start}: {source[start : start + 20]!r}; "
                "close it with '}}'"
            )
            text.append(source[start:])
            break
        inner = source[start + len(_OPEN) : end].strip()
        position = end + len(_CLOSE)
        if inner in PLACEHOLDERS:
            part: _Part | _Named = _Named(name=inner)
        elif inner.startswith(_FIELD_PREFIX) and _valid_field(inner[len(_FIELD_PREFIX) :]):
            part = FieldPlaceholder(name=inner[len(_FIELD_PREFIX) :].strip())
        else:
            problems.append(
                f"unknown placeholder {{{{{inner}}}}}; use one of "
                + ", ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS)
                + " or {{Field:NAME}}"
            )
            continue
        if any(text):
            parts.append("".join(text))
        text = []
        parts.append(part)
    if any(text):
        parts.append("".join(text))
    return tuple(parts), problems


def _valid_field(name: str) -> bool:
    name = name.strip()
    return bool(name) and "{" not in name and "}" not in name


def _parts(source: str) -> tuple[_Part | _Named, ...]:
    check_text("text", source, MAX_TEMPLATE_LENGTH)
    parts, problems = parse_template(source)
    if problems:
        raise ValidationError("text", "; ".join(problems))
    return parts


@attrs.frozen(kw_only=True)
class Template:
    """A text with placeholders, checked when defined (R3); `source` is what the user wrote."""

    source: str = attrs.field(default="")
    _parts: tuple[_Part | _Named, ...] = attrs.field(init=False, repr=False, eq=False)
    _names: frozenset[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        parts = _parts(self.source)
        object.__setattr__(self, "_parts", parts)
        object.__setattr__(
            self, "_names", frozenset(p.name for p in parts if isinstance(p, _Named))
        )

    @property
    def field_names(self) -> tuple[str, ...]:
        """The custom fields named by ``{{Field:NAME}}`` placeholders, in order."""
        return tuple(p.name for p in self._parts if isinstance(p, FieldPlaceholder))

    @property
    def names(self) -> frozenset[str]:
        """The built-in placeholders the text uses (from `PLACEHOLDERS`)."""
        return self._names

    @property
    def is_plain(self) -> bool:
        """True when the text has no placeholder at all."""
        return len(self._parts) <= 1 and all(isinstance(p, str) for p in self._parts)

    def render(self, values: Mapping[str, str], fields: Mapping[str, FieldValue]) -> str:
        """The text with each placeholder replaced: `values` by name, custom fields from `fields`.

        A missing value renders as an empty string. The text is cut to
        `MAX_RENDERED_LENGTH` characters, the last one then "…": a template of
        many placeholders over long titles could otherwise make megabytes.
        """
        out: list[str] = []
        size = 0
        for part in self._parts:
            if isinstance(part, str):
                piece = part
            elif isinstance(part, FieldPlaceholder):
                piece = field_text(fields.get(part.name))
            else:
                piece = values.get(part.name, "")
            out.append(piece)
            size += len(piece)
            if size > MAX_RENDERED_LENGTH:
                return "".join(out)[: MAX_RENDERED_LENGTH - 1] + "…"
        return "".join(out)


def field_text(value: FieldValue) -> str:
    """How a custom field value reads in a text: yes/no, numbers as written, empty for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)

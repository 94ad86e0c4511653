"""The library's exceptions: one base class, and a subclass per kind of mistake."""

from __future__ import annotations

from ._limits import shown

__all__ = [
    "AccessDeniedError",
    "CrmCountersError",
    "DanglingReferenceError",
    "DataFormatError",
    "DuplicateIdError",
    "InputFileError",
    "IntegrityError",
    "NaiveDatetimeError",
    "StorageBusyError",
    "UnknownIdError",
    "ValidationError",
]


class CrmCountersError(Exception):
    """Base class of every error the library raises on purpose."""


class ValidationError(CrmCountersError, ValueError):
    """A value was refused at construction; the message names the field (G5)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class NaiveDatetimeError(ValidationError, TypeError):
    """A datetime without a time zone was given where an aware one is required (G2)."""

    def __init__(self, field: str) -> None:
        super().__init__(
            field,
            "naive datetime; pass a timezone-aware datetime "
            "(e.g. datetime(..., tzinfo=ZoneInfo('Europe/Warsaw')))",
        )


class DuplicateIdError(CrmCountersError, ValueError):
    """An id is already taken by a stored record of the same kind (G5)."""

    def __init__(self, kind: str, record_id: str) -> None:
        super().__init__(f"duplicate {kind} id {shown(record_id)}: ids must be unique")
        self.kind = kind
        self.record_id = record_id


class UnknownIdError(CrmCountersError, LookupError):
    """No record of that kind has that id."""

    def __init__(self, kind: str, record_id: str) -> None:
        super().__init__(f"unknown {kind} id {shown(record_id)}")
        self.kind = kind
        self.record_id = record_id

    def __str__(self) -> str:  # LookupError would otherwise repr() the message
        return str(self.args[0])


class IntegrityError(CrmCountersError, ValueError):
    """A record does not fit with what is stored; names the record and its field (G5)."""

    def __init__(self, record_kind: str, record_id: str, field: str, problem: str) -> None:
        super().__init__(f"{record_kind} {record_id!r}: {field}: {problem}")
        self.record_kind = record_kind
        self.record_id = record_id
        self.field = field
        self.problem = problem


class DanglingReferenceError(IntegrityError):
    """A record refers to another record that does not exist (G5)."""

    def __init__(
        self, record_kind: str, record_id: str, field: str, kind: str, target_id: str
    ) -> None:
        super().__init__(
            record_kind, record_id, field, f"refers to unknown {kind} id {target_id!r}"
        )
        self.kind = kind
        self.target_id = target_id


class AccessDeniedError(CrmCountersError, PermissionError):
    """A viewer asked for data the access policy does not grant (C7)."""


class DataFormatError(CrmCountersError, ValueError):
    """A portal or rule-set document is malformed; `path` is the JSON path of the fault."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class StorageBusyError(CrmCountersError):
    """The database stayed locked by other writers past the timeout (P5); nothing was written.

    Retry later, or raise the timeout (`open_storage(..., timeout=...)`).
    """


class InputFileError(CrmCountersError, OSError):
    """A file could not be read as input: missing, not a regular file, or too large.

    `filename` is the file as given; a FIFO, a device or a directory is refused at
    once, without waiting for it (docs/reliability.md).
    """

    def __init__(self, filename: str, problem: str) -> None:
        super().__init__(f"{filename}: {problem}")
        self.filename = filename
        self.problem = problem

    def __str__(self) -> str:  # OSError would otherwise format its own way
        return f"{self.filename}: {self.problem}"

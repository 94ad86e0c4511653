"""Reading an input file safely: regular files only, never past a size limit.

Every file the library reads as input (a portal, a rule set; from the API or
the command line) goes through `read_input_file`. A FIFO would block the read
for ever, a device such as /dev/zero would fill memory, and a directory is no
document: each is refused at once, with the file's name (docs/reliability.md).
"""

from __future__ import annotations

import os
import stat

from ._errors import InputFileError, ValidationError
from ._limits import DEFAULT_MAX_FILE_BYTES

__all__ = ["check_max_bytes", "read_input_file"]


def check_max_bytes(value: object, field: str = "max_bytes") -> int:
    """`value` if it is a whole number of bytes >= 1; else a `ValidationError` naming `field`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(field, f"expected a whole number of bytes >= 1, got {value!r}")
    return value


def read_input_file(
    path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> bytes:
    """The bytes of the regular file at `path`, at most `max_bytes` of them.

    The file is checked before it is opened (so a FIFO is not waited on),
    opened without blocking, checked again on the open handle (it may have been
    swapped in between), and read no further than one byte past the limit.
    Any failure is an `InputFileError` naming the file.
    """
    limit = check_max_bytes(max_bytes)
    name = os.fspath(path)
    shown = name if isinstance(name, str) else name.decode(errors="backslashreplace")
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        raise InputFileError(shown, "no such file") from None
    except (OSError, ValueError) as error:  # ValueError: a NUL in the name
        raise InputFileError(shown, f"cannot read: {_reason(error)}") from None
    _check_regular(shown, mode)
    try:
        descriptor = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC)
    except OSError as error:
        raise InputFileError(shown, f"cannot read: {_reason(error)}") from None
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        _check_regular(shown, status.st_mode)
        if status.st_size > limit:
            raise _too_large(shown, limit, status.st_size)
        try:
            # A buffer the size the file says it has (not the limit's), then the rest, if
            # it grew since fstat, up to one byte past the limit.
            data = handle.read(status.st_size + 1)
            if len(data) > status.st_size:
                data += handle.read(limit + 1 - len(data))
        except OSError as error:
            raise InputFileError(shown, f"cannot read: {_reason(error)}") from None
    if len(data) > limit:  # it grew since fstat
        raise _too_large(shown, limit, None)
    return data


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _reason(error: Exception) -> str:
    """Why an OS call failed, without the file name the error repeats."""
    return getattr(error, "strerror", None) or str(error)


def _check_regular(name: str, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        kind = "a directory"
    elif stat.S_ISFIFO(mode):
        kind = "a FIFO (named pipe)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "not a regular file"
    raise InputFileError(name, f"is {kind}; only regular files are read")


def _too_large(name: str, limit: int, size: int | None) -> InputFileError:
    found = "" if size is None else f" ({size:,} bytes)"
    return InputFileError(
        name,
        f"larger than the limit of {limit:,} bytes{found}; raise it with max_bytes= "
        "(--max-file-size on the command line) if the file is meant",
    )

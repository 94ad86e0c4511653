"""Who may read whose counters (C7): access levels over the department tree."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

from . import _validate as v
from ._errors import AccessDeniedError, ValidationError
from ._storage import Storage

__all__ = ["DEFAULT_POLICY", "AccessLevel", "AccessPolicy", "check_access"]


class AccessLevel(enum.StrEnum):
    """How far a viewer's access to other employees' items reaches (C7)."""

    NONE = "none"
    OWN = "own"
    DEPARTMENT = "department"  # own + department
    SUBDEPARTMENTS = "subdepartments"  # own + department + sub-departments
    ALL = "all"


def _level(field: str, level: str) -> AccessLevel:
    try:
        return AccessLevel(level)
    except ValueError:
        choices = ", ".join(one.value for one in AccessLevel)
        raise ValidationError(
            field, f"unknown access level {level!r}; choose from {choices}"
        ) from None


def _default_level(level: AccessLevel | str) -> AccessLevel:
    return _level("default", level)


def _levels(value: Mapping[str, AccessLevel | str]) -> Mapping[str, AccessLevel]:
    if not isinstance(value, Mapping):
        raise ValidationError("levels", f"expected a mapping, got {type(value).__name__}")
    frozen: dict[str, AccessLevel] = {}
    for user_id, level in value.items():
        v.check_id("levels", user_id)
        frozen[user_id] = _level(f"levels[{user_id!r}]", level)
    return MappingProxyType(frozen)


@attrs.frozen(kw_only=True)
class AccessPolicy:
    """Each viewer's access level; viewers not listed get `default` (C7).

    A viewer's *departments* are the department they belong to and every
    department they head. `DEPARTMENT` reaches the members of those
    departments; `SUBDEPARTMENTS` also the members of every department below
    them; `ALL` everyone; `OWN` only the viewer; `NONE` not even the viewer.
    The default policy lets everyone read their own counters and no one else's.
    """

    levels: Mapping[str, AccessLevel] = attrs.field(factory=dict, converter=_levels, hash=False)
    default: AccessLevel = attrs.field(default=AccessLevel.OWN, converter=_default_level)

    def level_of(self, viewer_id: str) -> AccessLevel:
        """The viewer's access level."""
        return self.levels.get(viewer_id, self.default)

    def can_view(self, storage: Storage, viewer_id: str, user_id: str) -> bool:
        """True when `viewer_id` may read the counters and items of `user_id`.

        Unknown users raise `UnknownIdError` rather than answer False.
        """
        viewer = storage.user(viewer_id)
        user = storage.user(user_id)
        level = self.level_of(viewer_id)
        if level is AccessLevel.NONE:
            return False
        if level is AccessLevel.ALL or viewer.id == user.id:
            return True
        if level is AccessLevel.OWN or user.department_id is None:
            return False
        reach = _own_departments(storage, viewer.id, viewer.department_id)
        if level is AccessLevel.SUBDEPARTMENTS:
            return _under_any(storage, user.department_id, reach)
        return user.department_id in reach

    def check(self, storage: Storage, viewer_id: str, user_id: str) -> None:
        """Raise `AccessDeniedError` unless `viewer_id` may read `user_id`'s counters (C7)."""
        if not self.can_view(storage, viewer_id, user_id):
            level = self.level_of(viewer_id).value
            raise AccessDeniedError(
                f"user {viewer_id!r} (access level {level!r}) may not read the counters or "
                f"items of user {user_id!r}; grant a wider level in the AccessPolicy (C7)"
            )

    def visible_users(self, storage: Storage, viewer_id: str) -> tuple[str, ...]:
        """The ids of every user whose counters `viewer_id` may read, in storage order."""
        return tuple(
            user.id for user in storage.users() if self.can_view(storage, viewer_id, user.id)
        )


def _own_departments(storage: Storage, viewer_id: str, home: str | None) -> frozenset[str]:
    headed = {d.id for d in storage.departments() if d.head_id == viewer_id}
    if home is not None:
        headed.add(home)
    return frozenset(headed)


def _under_any(storage: Storage, department_id: str, roots: Iterable[str]) -> bool:
    """True when `department_id` is one of `roots` or lies below one of them."""
    wanted = frozenset(roots)
    current: str | None = department_id
    seen: set[str] = set()
    while current is not None and current not in seen:
        if current in wanted:
            return True
        seen.add(current)
        current = storage.department(current).parent_id
    return False


#: Everyone reads their own counters and no one else's (C7) unless told otherwise.
DEFAULT_POLICY = AccessPolicy()


def check_access(
    storage: Storage, viewer_id: str, user_id: str, policy: AccessPolicy | None
) -> None:
    """Raise `AccessDeniedError` unless `policy` (default: own only) lets the viewer read (C7)."""
    (DEFAULT_POLICY if policy is None else policy).check(storage, viewer_id, user_id)

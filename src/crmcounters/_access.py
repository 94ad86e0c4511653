"""Who may read whose counters (C7): access levels over the department tree, per section."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal

import attrs

from . import _validate as v
from ._errors import AccessDeniedError, ValidationError
from ._pipelines import check_entity_type, has_pipelines
from ._sections import Scope, SectionKey
from ._storage import Storage

__all__ = [
    "DEFAULT_POLICY",
    "AccessLevel",
    "AccessPolicy",
    "SectionAccess",
    "SectionFilter",
    "check_access",
    "readable_sections",
]

#: Which sections of one user's items a viewer may read; None means every one.
SectionFilter = Callable[[str, str | None], bool] | None


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


def _optional_level(level: AccessLevel | str | None) -> AccessLevel | None:
    return None if level is None else _level("default", level)


def _levels(value: Mapping[str, AccessLevel | str]) -> Mapping[str, AccessLevel]:
    if not isinstance(value, Mapping):
        raise ValidationError("levels", f"expected a mapping, got {type(value).__name__}")
    frozen: dict[str, AccessLevel] = {}
    for user_id, level in value.items():
        v.check_id("levels", user_id)
        frozen[user_id] = _level(f"levels[{user_id!r}]", level)
    return MappingProxyType(frozen)


def _section_entity_type(_instance: Any, attribute: Any, value: Any) -> None:
    check_entity_type(attribute.name, value)


@attrs.frozen(kw_only=True)
class SectionAccess:
    """The access levels in one CRM section: an entity type, or one pipeline of it (C7, C10).

    Viewers listed in `levels` get their level in the section; the others get
    `default`, or, when it is None, what the wider section (the entity type for
    a pipeline) or else the policy gives them. "All deals, own leads" is
    `SectionAccess(entity_type="deal", default="all")` in a policy whose
    default is "own".
    """

    entity_type: str = attrs.field(validator=_section_entity_type)
    pipeline_id: str | None = attrs.field(default=None, validator=v.optional_id)
    levels: Mapping[str, AccessLevel] = attrs.field(factory=dict, converter=_levels, hash=False)
    default: AccessLevel | None = attrs.field(default=None, converter=_optional_level)

    def __attrs_post_init__(self) -> None:
        if self.pipeline_id is not None and not has_pipelines(self.entity_type):
            raise ValidationError(
                "pipeline_id", f"{self.entity_type} items have no pipeline to grant access to"
            )

    @property
    def key(self) -> SectionKey:
        """(entity type, pipeline id or None): the section it is about."""
        return (self.entity_type, self.pipeline_id)


def _sections(values: Iterable[SectionAccess]) -> tuple[SectionAccess, ...]:
    found = v.check_instances("sections", values, SectionAccess)
    seen: set[SectionKey] = set()
    for index, section in enumerate(found):
        if section.key in seen:
            where = section.entity_type + ("" if section.pipeline_id is None else "/")
            raise ValidationError(
                f"sections[{index}]",
                f"a second rule for section {where}{section.pipeline_id or ''}",
            )
        seen.add(section.key)
    return found


@attrs.frozen(kw_only=True)
class AccessPolicy:
    """Each viewer's access level, per section if need be; viewers not listed get `default` (C7).

    A viewer's *departments* are the department they belong to and every
    department they head. `DEPARTMENT` reaches the members of those
    departments; `SUBDEPARTMENTS` also the members of every department below
    them; `ALL` everyone; `OWN` only the viewer; `NONE` not even the viewer.
    The default policy lets everyone read their own counters and no one else's.

    `sections` override the levels in one entity type or one pipeline (C10):
    in a section, a viewer's level comes from the pipeline's rule (the viewer's
    own level, else its default), else the entity type's rule, else `levels`
    and `default` here.
    """

    levels: Mapping[str, AccessLevel] = attrs.field(factory=dict, converter=_levels, hash=False)
    default: AccessLevel = attrs.field(default=AccessLevel.OWN, converter=_default_level)
    sections: tuple[SectionAccess, ...] = attrs.field(default=(), converter=_sections)
    _by_key: Mapping[SectionKey, SectionAccess] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        by_key = MappingProxyType({section.key: section for section in self.sections})
        object.__setattr__(self, "_by_key", by_key)  # frozen: derived once, here

    def level_of(
        self, viewer_id: str, entity_type: str | None = None, pipeline_id: str | None = None
    ) -> AccessLevel:
        """The viewer's access level, in one section when `entity_type` is given (C7, C10)."""
        if entity_type is not None and self._by_key:
            keys: tuple[SectionKey, ...] = ((entity_type, None),)
            if pipeline_id is not None:
                keys = ((entity_type, pipeline_id), *keys)
            for key in keys:
                section = self._by_key.get(key)
                if section is not None:
                    level = section.levels.get(viewer_id, section.default)
                    if level is not None:
                        return level
        return self.levels.get(viewer_id, self.default)

    def can_view(
        self,
        storage: Storage,
        viewer_id: str,
        user_id: str,
        *,
        entity_type: str | None = None,
        pipeline_id: str | None = None,
    ) -> bool:
        """True when `viewer_id` may read the counters and items of `user_id` (in one section).

        Without `entity_type`, the level outside every section rule decides.
        Unknown users raise `UnknownIdError` rather than answer False.
        """
        return self._reaches(
            storage, viewer_id, user_id, self.level_of(viewer_id, entity_type, pipeline_id)
        )

    def _reaches(self, storage: Storage, viewer_id: str, user_id: str, level: AccessLevel) -> bool:
        viewer = storage.user(viewer_id)
        user = storage.user(user_id)
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

    def visible_users(
        self,
        storage: Storage,
        viewer_id: str,
        *,
        entity_type: str | None = None,
        pipeline_id: str | None = None,
    ) -> tuple[str, ...]:
        """Every user whose counters `viewer_id` may read in some section of the scope.

        The scope is every section, one entity type, or one pipeline of it
        (C10); users come in storage order.
        """
        return tuple(
            user.id
            for user in storage.users()
            if _filter(self, storage, viewer_id, user.id, (entity_type, pipeline_id)) is not False
        )

    def _levels_in(self, viewer_id: str, scope: Scope) -> set[AccessLevel]:
        """Every level the viewer may have in some section inside `scope`."""
        entity_type, pipeline_id = scope
        found = {self.level_of(viewer_id, entity_type, pipeline_id)}
        if pipeline_id is None:
            for section in self.sections:
                if entity_type is None or section.entity_type == entity_type:
                    found.add(self.level_of(viewer_id, *section.key))
        return found


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


def _filter(
    policy: AccessPolicy,
    storage: Storage,
    viewer_id: str,
    user_id: str,
    scope: Scope,
) -> SectionFilter | Literal[False]:
    """None: every section of the scope is readable; False: none is; else a section test."""
    answers = {
        level: policy._reaches(storage, viewer_id, user_id, level)  # same module
        for level in policy._levels_in(viewer_id, scope)  # same module
    }
    if all(answers.values()):
        return None
    if not any(answers.values()):
        return False
    known: dict[SectionKey, bool] = {}

    def readable(entity_type: str, pipeline_id: str | None) -> bool:
        key = (entity_type, pipeline_id)
        if key not in known:
            known[key] = answers[policy.level_of(viewer_id, entity_type, pipeline_id)]
        return known[key]

    return readable


def readable_sections(
    storage: Storage,
    viewer_id: str,
    user_id: str,
    policy: AccessPolicy | None,
    entity_type: str | None = None,
    pipeline_id: str | None = None,
) -> SectionFilter:
    """Which sections of `user_id`'s items in the scope `viewer_id` may read (C7, C10).

    None when every one; a test of (entity type, pipeline id) when only some;
    `AccessDeniedError` when none (a refusal, never an empty answer). With no
    section rules in the policy, this is `check_access`.
    """
    active = DEFAULT_POLICY if policy is None else policy
    found = _filter(active, storage, viewer_id, user_id, (entity_type, pipeline_id))
    if found is False:
        level = active.level_of(viewer_id, entity_type, pipeline_id).value
        where = "" if entity_type is None else f" in {entity_type}"
        where += "" if pipeline_id is None else f" pipeline {pipeline_id!r}"
        raise AccessDeniedError(
            f"user {viewer_id!r} (access level {level!r}{where}) may not read the counters or "
            f"items of user {user_id!r}; grant a wider level in the AccessPolicy (C7)"
        )
    return found

"""Pipelines (categories) and their ordered stages (SPEC section 1)."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Any

import attrs

from . import _validate as v
from ._errors import UnknownIdError, ValidationError
from ._limits import shown

__all__ = [
    "ENTITY_TYPES",
    "ENTITY_TYPES_WITHOUT_PIPELINE",
    "Pipeline",
    "Stage",
    "StageSemantics",
    "check_entity_type",
    "has_pipelines",
]

#: The fixed entity types (SPEC section 1); smart processes are written ``smart:<number>``.
ENTITY_TYPES = ("lead", "deal", "invoice", "quote", "contact", "company")
#: The entity types whose items have no pipeline and no stage.
ENTITY_TYPES_WITHOUT_PIPELINE = ("contact", "company")
_SMART = re.compile(r"smart:[0-9]+\Z")


def check_entity_type(field: str, value: object) -> str:
    """Return `value` if it names an entity type: one of `ENTITY_TYPES`, or smart:<n>."""
    if not isinstance(value, str) or not (value in ENTITY_TYPES or _SMART.match(value)):
        raise ValidationError(
            field,
            f"unknown entity type {shown(value)}; use {', '.join(ENTITY_TYPES)} or smart:<number>",
        )
    return value


def has_pipelines(entity_type: str) -> bool:
    """True for the entity types whose items sit in a pipeline stage (not contact, company)."""
    return entity_type not in ENTITY_TYPES_WITHOUT_PIPELINE


def _entity_type(_instance: Any, attribute: Any, value: Any) -> None:
    check_entity_type(attribute.name, value)
    if not has_pipelines(value):
        raise ValidationError(
            attribute.name, f"{value} items have no pipeline; pipelines are for the other types"
        )


class StageSemantics(enum.StrEnum):
    """What a stage means: still being worked on, won, or lost."""

    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    FAILURE = "failure"


def _semantics(value: StageSemantics | str) -> StageSemantics:
    return v.check_choice("semantics", StageSemantics, value)


@attrs.frozen(kw_only=True)
class Stage:
    """One column of a pipeline."""

    id: str = attrs.field(validator=v.an_id)
    name: str = attrs.field(validator=v.text)
    semantics: StageSemantics = attrs.field(
        default=StageSemantics.IN_PROGRESS, converter=_semantics
    )

    @property
    def is_final(self) -> bool:
        """Won or lost: no further work is expected (S1)."""
        return self.semantics is not StageSemantics.IN_PROGRESS


def _stages(values: Iterable[Stage]) -> tuple[Stage, ...]:
    return v.check_collection("stages", values, "stages")


@attrs.frozen(kw_only=True)
class Pipeline:
    """The ordered stages of one category of one entity type; order defines previous/next."""

    id: str = attrs.field(validator=v.an_id)
    entity_type: str = attrs.field(validator=_entity_type)
    name: str = attrs.field(default="", validator=v.text)
    stages: tuple[Stage, ...] = attrs.field(converter=_stages)

    def __attrs_post_init__(self) -> None:
        if not self.stages:
            raise ValidationError("stages", f"pipeline {self.id!r} needs at least one stage")
        seen: set[str] = set()
        for index, stage in enumerate(self.stages):
            if not isinstance(stage, Stage):
                raise ValidationError(f"stages[{index}]", "expected a Stage")
            if stage.id in seen:
                raise ValidationError(f"stages[{index}].id", f"repeated stage id {stage.id!r}")
            seen.add(stage.id)

    def stage(self, stage_id: str) -> Stage:
        """The stage with that id, or `UnknownIdError`."""
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise UnknownIdError("stage", stage_id)

    def has_stage(self, stage_id: str) -> bool:
        """True when the pipeline has a stage with that id."""
        return any(stage.id == stage_id for stage in self.stages)

    def position(self, stage_id: str) -> int:
        """Zero-based position of the stage; larger is further forward."""
        for index, stage in enumerate(self.stages):
            if stage.id == stage_id:
                return index
        raise UnknownIdError("stage", stage_id)

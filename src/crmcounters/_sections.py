"""CRM sections (C10): an entity type, and within it one pipeline, as a section header shows.

A *scope* is what a read covers: every section (the left menu's total), one
entity type, or one pipeline of it. An item belongs to exactly one section,
(its entity type, its pipeline id), so counters over a scope are the sum of
those over its sections.
"""

from __future__ import annotations

from ._errors import ValidationError
from ._pipelines import check_entity_type, has_pipelines
from ._storage import Storage

__all__ = ["EVERY_SECTION", "Scope", "SectionKey", "in_scope", "section_scope"]

#: One section: (entity type, pipeline id); the pipeline is None for contacts and companies.
SectionKey = tuple[str, str | None]
#: What a read covers: (None, None) every section, (type, None) an entity type, or a pipeline.
Scope = tuple[str | None, str | None]
#: The scope of the unfiltered counters: every section.
EVERY_SECTION: Scope = (None, None)


def section_scope(storage: Storage, entity_type: str | None, pipeline_id: str | None) -> Scope:
    """The checked scope of a read (C10): an unknown pipeline is `UnknownIdError`.

    A pipeline alone names its entity type; given both, they must agree.
    """
    if entity_type is not None:
        check_entity_type("entity_type", entity_type)
    if pipeline_id is None:
        return (entity_type, None)
    if entity_type is not None and not has_pipelines(entity_type):
        raise ValidationError("pipeline_id", f"{entity_type} items have no pipeline")
    pipeline = storage.pipeline(pipeline_id)
    if entity_type is not None and pipeline.entity_type != entity_type:
        raise ValidationError(
            "pipeline_id",
            f"pipeline {pipeline_id!r} is for {pipeline.entity_type}, not {entity_type}",
        )
    return (pipeline.entity_type, pipeline_id)


def in_scope(scope: Scope, entity_type: str, pipeline_id: str | None) -> bool:
    """True when the section (entity type, pipeline id) lies inside `scope`."""
    wanted_type, wanted_pipeline = scope
    if wanted_type is not None and wanted_type != entity_type:
        return False
    return wanted_pipeline is None or wanted_pipeline == pipeline_id

"""Errors of the inspections domain."""

from backend.errors import Conflict, InvalidInput, NotFound
from backend.inspections.hlc import InvalidHlc
from backend.inspections.questions import InvalidAnswer, InvalidTemplate


class TemplateNotFound(NotFound):
    code = "template_not_found"


class InspectionNotFound(NotFound):
    code = "inspection_not_found"


class UnknownQuestion(InvalidInput):
    code = "unknown_question"


class InspectionFrozen(Conflict):
    """A submitted inspection never changes."""

    code = "inspection_frozen"


class InspectionIncomplete(InvalidInput):
    code = "inspection_incomplete"


class PhotosMissing(InvalidInput):
    """Photo questions need their photos uploaded and attached before submission."""

    code = "photos_missing"


class InspectionIdTaken(Conflict):
    code = "inspection_id_taken"


class TemplateNotUsable(InvalidInput):
    """A supplier's template is used only by distributors the supplier authorised."""

    code = "template_not_usable"


__all__ = [
    "InspectionFrozen",
    "InspectionIdTaken",
    "InspectionIncomplete",
    "InspectionNotFound",
    "InvalidAnswer",
    "InvalidHlc",
    "InvalidTemplate",
    "PhotosMissing",
    "TemplateNotFound",
    "TemplateNotUsable",
    "UnknownQuestion",
]

"""Inspections: versioned checklists, terminal visits, LWW answers, frozen submissions."""

from backend.inspections.models import Inspection, InspectionAnswer, InspectionTemplate
from backend.inspections.service import (
    answer_question,
    create_template,
    get_inspection,
    get_template,
    list_inspections,
    revise_template,
    start_inspection,
    submit_inspection,
)

Answer = InspectionAnswer  # the name the other areas' briefs use

__all__ = [
    "Answer",
    "Inspection",
    "InspectionAnswer",
    "InspectionTemplate",
    "answer_question",
    "create_template",
    "get_inspection",
    "get_template",
    "list_inspections",
    "revise_template",
    "start_inspection",
    "submit_inspection",
]

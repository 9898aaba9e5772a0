"""Visits: terminal sites, visit frequency rules, planned visits, check-in and check-out."""

from backend.visits.models import TerminalSite, Visit, VisitActivity, VisitRule
from backend.visits.service import (
    add_visit,
    check_in,
    check_out,
    delete_rule,
    get_visit,
    plan_visits,
    reorder_day,
    set_rule,
    set_site,
    skip_visit,
)

__all__ = [
    "TerminalSite",
    "Visit",
    "VisitActivity",
    "VisitRule",
    "add_visit",
    "check_in",
    "check_out",
    "delete_rule",
    "get_visit",
    "plan_visits",
    "reorder_day",
    "set_rule",
    "set_site",
    "skip_visit",
]

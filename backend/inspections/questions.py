"""Question kinds of inspection templates: how a question is declared, answered and scored.

A question is a JSON object ``{"id", "kind", "text", "required", "weight", ...}`` with extra
fields per kind:

- ``yes_no``: ``pass_value`` (default ``true``) earns the weight.
- ``number``: ``min``/``max`` bound the answer; ``pass_min``/``pass_max`` (optional) earn the weight.
- ``single_choice`` / ``multi_choice``: ``options`` (strings); ``scores`` (optional, option →
  fraction 0..1) earns that fraction of the weight (summed and capped at 1 for multi choice).
- ``text``: ``max_length`` (default 2000); never scored.
- ``photo``: ``min_count`` (default 1); the answer is the list of photo SHA-256 hashes, all of
  which must be uploaded and attached to the inspection at submission. Earns the weight.

Questions without a scoring rule carry no weight in the score.
"""

from __future__ import annotations

import math
import re
from typing import Any

from backend.errors import InvalidInput

KINDS = ("yes_no", "number", "single_choice", "multi_choice", "text", "photo")
QUESTION_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
MAX_QUESTIONS = 200
MAX_OPTIONS = 50
MAX_TEXT = 2000
MAX_PHOTOS = 50


class InvalidTemplate(InvalidInput):
    code = "invalid_template"


class InvalidAnswer(InvalidInput):
    code = "invalid_answer"


MAX_NUMBER = 1e15


def _number(value: Any) -> bool:
    """A JSON number a phone may send: finite and of a sane size (huge integers are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) <= MAX_NUMBER and (isinstance(value, int) or math.isfinite(value))


def _fail(index: int, message: str) -> InvalidTemplate:
    return InvalidTemplate(f"question {index + 1}: {message}", details={"question": index + 1})


def _question(index: int, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail(index, "must be an object")
    qid, kind, text = raw.get("id"), raw.get("kind"), raw.get("text")
    if not isinstance(qid, str) or not QUESTION_ID_RE.fullmatch(qid):
        raise _fail(index, "id must be 1-40 letters, digits, '_' or '-'")
    if kind not in KINDS:
        raise _fail(index, f"kind must be one of {', '.join(KINDS)}")
    if not isinstance(text, str) or not 1 <= len(text) <= 500:
        raise _fail(index, "text must be 1-500 characters")
    required = raw.get("required", True)
    weight = raw.get("weight", 1)
    if not isinstance(required, bool):
        raise _fail(index, "required must be true or false")
    if not _number(weight) or not 0 <= weight <= 1000:
        raise _fail(index, "weight must be a number from 0 to 1000")
    q: dict[str, Any] = {"id": qid, "kind": kind, "text": text, "required": required, "weight": weight}
    known = {"id", "kind", "text", "required", "weight"}
    if kind == "yes_no":
        pass_value = raw.get("pass_value", True)
        if not isinstance(pass_value, bool):
            raise _fail(index, "pass_value must be true or false")
        q["pass_value"] = pass_value
        known |= {"pass_value"}
    elif kind == "number":
        for key in ("min", "max", "pass_min", "pass_max"):
            if raw.get(key) is not None and not _number(raw[key]):
                raise _fail(index, f"{key} must be a number")
            q[key] = raw.get(key)
        for low, high in (("min", "max"), ("pass_min", "pass_max")):
            if q[low] is not None and q[high] is not None and q[low] > q[high]:
                raise _fail(index, f"{low} is above {high}")
        known |= {"min", "max", "pass_min", "pass_max"}
    elif kind in ("single_choice", "multi_choice"):
        options = raw.get("options")
        if (
            not isinstance(options, list)
            or not 1 <= len(options) <= MAX_OPTIONS
            or not all(isinstance(o, str) and 1 <= len(o) <= 200 for o in options)
            or len(set(options)) != len(options)
        ):
            raise _fail(index, f"options must be 1-{MAX_OPTIONS} distinct strings")
        scores = raw.get("scores")
        valid_scores = isinstance(scores, dict) and all(
            k in options and _number(v) and 0 <= v <= 1 for k, v in scores.items()
        )
        if scores is not None and not valid_scores:
            raise _fail(index, "scores must map options to fractions from 0 to 1")
        q["options"] = options
        q["scores"] = scores
        known |= {"options", "scores"}
    elif kind == "text":
        max_length = raw.get("max_length", MAX_TEXT)
        if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= MAX_TEXT:
            raise _fail(index, f"max_length must be a whole number from 1 to {MAX_TEXT}")
        q["max_length"] = max_length
        known |= {"max_length"}
    elif kind == "photo":
        min_count = raw.get("min_count", 1)
        if not isinstance(min_count, int) or isinstance(min_count, bool) or not 1 <= min_count <= 20:
            raise _fail(index, "min_count must be a whole number from 1 to 20")
        q["min_count"] = min_count
        known |= {"min_count"}
    unknown = set(raw) - known
    if unknown:
        raise _fail(index, f"unknown fields for a {kind} question: {', '.join(sorted(unknown))}")
    return q


def validate_questions(raw: Any) -> list[dict[str, Any]]:
    """Normalised questions of a template, or ``invalid_template`` naming the first problem."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_QUESTIONS:
        raise InvalidTemplate(f"a template has 1 to {MAX_QUESTIONS} questions")
    questions = [_question(i, q) for i, q in enumerate(raw)]
    ids = [q["id"] for q in questions]
    if len(set(ids)) != len(ids):
        raise InvalidTemplate("question ids must be distinct")
    return questions


def validate_answer(question: dict[str, Any], value: Any) -> Any:
    """The answer in canonical form, or ``invalid_answer``."""
    kind = question["kind"]

    def fail(message: str) -> InvalidAnswer:
        return InvalidAnswer(f"{question['id']}: {message}", details={"question_id": question["id"]})

    if kind == "yes_no":
        if not isinstance(value, bool):
            raise fail("answer true or false")
        return value
    if kind == "number":
        if not _number(value):
            raise fail("answer a number")
        if question.get("min") is not None and value < question["min"]:
            raise fail(f"the answer must be at least {question['min']}")
        if question.get("max") is not None and value > question["max"]:
            raise fail(f"the answer must be at most {question['max']}")
        return value
    if kind == "single_choice":
        if value not in question["options"]:
            raise fail("answer one of the options")
        return value
    if kind == "multi_choice":
        if (
            not isinstance(value, list)
            or not all(isinstance(v, str) and v in question["options"] for v in value)
            or len(set(value)) != len(value)
        ):
            raise fail("answer a list of distinct options")
        return sorted(value, key=question["options"].index)
    if kind == "text":
        if not isinstance(value, str) or len(value) > question["max_length"]:
            raise fail(f"answer text of at most {question['max_length']} characters")
        return value
    if (
        not isinstance(value, list)
        or not all(isinstance(v, str) and SHA256_RE.fullmatch(v) for v in value)
        or len(set(value)) != len(value)
        or len(value) > MAX_PHOTOS
    ):
        raise fail(f"answer a list of up to {MAX_PHOTOS} distinct photo SHA-256 hashes (lower-case hex)")
    return value


def score_answer(question: dict[str, Any], value: Any) -> tuple[float, float]:
    """(earned, possible) for one question; ``value`` is ``None`` when unanswered."""
    kind, weight = question["kind"], float(question["weight"])
    if kind == "text":
        return 0.0, 0.0
    if kind == "number" and question.get("pass_min") is None and question.get("pass_max") is None:
        return 0.0, 0.0
    if kind in ("single_choice", "multi_choice") and not question.get("scores"):
        return 0.0, 0.0
    if value is None:
        return 0.0, weight
    if kind == "yes_no":
        return (weight if value == question["pass_value"] else 0.0), weight
    if kind == "number":
        low, high = question.get("pass_min"), question.get("pass_max")
        ok = (low is None or value >= low) and (high is None or value <= high)
        return (weight if ok else 0.0), weight
    if kind == "single_choice":
        return weight * float(question["scores"].get(value, 0)), weight
    if kind == "multi_choice":
        fraction = min(1.0, sum(float(question["scores"].get(v, 0)) for v in value))
        return weight * fraction, weight
    return (weight if len(value) >= question["min_count"] else 0.0), weight

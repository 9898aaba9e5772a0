"""Errors of replenishment suggestions."""

from backend.errors import InvalidInput, NotFound


class SuggestionNotFound(NotFound):
    code = "suggestion_not_found"


class NothingToOrder(InvalidInput):
    """None of the named (or open) suggestions has a quantity to order."""

    code = "nothing_to_order"


class SupplierRequired(InvalidInput):
    """A purchase order goes to one supplier: name it when the suggestions span several."""

    code = "supplier_required"

"""Errors of the orders domain, each with a stable machine code."""

from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class OrderNotFound(NotFound):
    code = "order_not_found"


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"


class TerminalNotFound(NotFound):
    code = "terminal_not_found"


class SupplierNotFound(NotFound):
    code = "supplier_not_found"


class OrderNotEditable(Conflict):
    """Lines change only in draft; ``details`` carries the current state."""

    code = "order_not_editable"


class InvalidTransition(Conflict):
    """The step is not legal from the order's current state (``details["state"]``)."""

    code = "invalid_transition"


class OrderIdTaken(Conflict):
    code = "order_id_taken"


class NotAuthorisedForRegion(PermissionDenied):
    """The distributor may not sell these SKUs' categories in the order's region."""

    code = "not_authorised_for_region"


class QuotaExceeded(Conflict):
    """The regional quota has too little left; ``details`` says what is left of each."""

    code = "quota_exceeded"


class PriceMissing(InvalidInput):
    code = "price_missing"


class InvalidOrder(InvalidInput):
    code = "invalid_order"


class InvalidId(InvalidInput):
    code = "invalid_id"


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class ProductNotOrderable(InvalidInput):
    """Unknown or inactive product, or one the order's supplier does not sell."""

    code = "product_not_orderable"


class EmptyOrder(InvalidInput):
    code = "order_empty"

"""Errors of the inventory domain."""

from backend.errors import Conflict, InvalidInput, NotFound


class LocationNotFound(NotFound):
    code = "stock_location_not_found"


class InvalidLocation(InvalidInput):
    """Stock lives in a distributor's warehouse or on a terminal's shelf, nowhere else."""

    code = "invalid_stock_location"


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class InvalidObservedAt(InvalidInput):
    code = "invalid_observed_at"


class InvalidMovement(InvalidInput):
    code = "invalid_movement"


class StockCheckIdTaken(Conflict):
    """A client-minted id already names a different stock check."""

    code = "stock_check_id_taken"

"""Errors of the catalog domain."""

from backend.errors import Conflict, InvalidInput, NotFound


class ProductNotFound(NotFound):
    code = "product_not_found"


class CategoryNotFound(NotFound):
    code = "category_not_found"


class DuplicateSku(Conflict):
    code = "sku_exists"


class ImportRejected(InvalidInput):
    code = "import_rejected"

"""Imports every domain's models so ``Base.metadata`` is complete (Alembic, tests)."""

from backend.catalog import models as catalog_models
from backend.changefeed import models as changefeed_models
from backend.db import Base
from backend.identity import models as identity_models

metadata = Base.metadata

__all__ = ["catalog_models", "changefeed_models", "identity_models", "metadata"]

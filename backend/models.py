"""Imports every domain's models so ``Base.metadata`` is complete (Alembic, tests)."""

from backend.acceptance import models as acceptance_models
from backend.catalog import models as catalog_models
from backend.changefeed import models as changefeed_models
from backend.db import Base
from backend.evidence import models as evidence_models
from backend.forecasting import models as forecasting_models
from backend.identity import models as identity_models
from backend.inspections import models as inspections_models
from backend.inventory import models as inventory_models
from backend.jobstate import models as jobstate_models
from backend.media import models as media_models
from backend.messaging import models as messaging_models
from backend.notifications import models as notifications_models
from backend.orders import models as orders_models
from backend.requests import models as requests_models
from backend.syncstate import models as syncstate_models
from backend.territory import models as territory_models
from backend.visits import models as visits_models

metadata = Base.metadata

__all__ = [
    "acceptance_models",
    "catalog_models",
    "changefeed_models",
    "evidence_models",
    "forecasting_models",
    "identity_models",
    "inspections_models",
    "inventory_models",
    "jobstate_models",
    "media_models",
    "messaging_models",
    "notifications_models",
    "orders_models",
    "requests_models",
    "syncstate_models",
    "territory_models",
    "visits_models",
    "metadata",
]

"""Workbench: the figures of the phone's dashboard, computed by SQL aggregates."""

from backend.workbench.figures import DistributorFigures, SupplierFigures
from backend.workbench.service import distributor_figures, supplier_figures

__all__ = ["DistributorFigures", "SupplierFigures", "distributor_figures", "supplier_figures"]

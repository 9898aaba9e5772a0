"""Named mutations, one module per domain; importing this package registers them all."""

from sync.mutations import (
    acceptance,
    claims,
    field,
    field_set,
    inspections_set,
    media,
    messaging,
    orders,
    orders_set,
    profile,
    replenishment,
    requests,
    support,
    visits,
)
from sync.mutations.registry import REGISTRY, Args, Mutation, MutationContext, mutation

__all__ = [
    "REGISTRY",
    "Args",
    "Mutation",
    "MutationContext",
    "acceptance",
    "claims",
    "field",
    "field_set",
    "inspections_set",
    "media",
    "messaging",
    "mutation",
    "orders",
    "orders_set",
    "profile",
    "replenishment",
    "requests",
    "support",
    "visits",
]

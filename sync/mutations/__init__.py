"""Named mutations, one module per domain; importing this package registers them all."""

from sync.mutations import (
    acceptance,
    claims,
    field,
    field_set,
    inspections_set,
    media,
    messaging,
    messaging_set,
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
    "messaging_set",
    "mutation",
    "orders",
    "orders_set",
    "profile",
    "replenishment",
    "requests",
    "support",
    "visits",
]

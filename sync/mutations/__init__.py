"""Named mutations, one module per domain; importing this package registers them all."""

from sync.mutations import acceptance, field, media, messaging, orders, profile
from sync.mutations.registry import REGISTRY, Args, Mutation, MutationContext, mutation

__all__ = [
    "REGISTRY",
    "Args",
    "Mutation",
    "MutationContext",
    "acceptance",
    "field",
    "media",
    "messaging",
    "mutation",
    "orders",
    "profile",
]

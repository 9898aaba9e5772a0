"""Named mutations, one module per domain; importing this package registers them all."""

from sync.mutations import profile
from sync.mutations.registry import REGISTRY, Args, Mutation, MutationContext, argument_schemas, mutation

__all__ = ["REGISTRY", "Args", "Mutation", "MutationContext", "argument_schemas", "mutation", "profile"]

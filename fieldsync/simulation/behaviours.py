"""What people do on their phones during the day, as mutations queued in the outbox.

Each behaviour belongs to some roles, has a weight (how often, relative to the others of the
role) and names the mutations it needs; the playbook keeps only the behaviours whose
mutations the server publishes in ``GET /sync/v1/schema``, so the simulator runs against
whatever the server supports. A behaviour looks at the phone's replica (what the person sees)
to choose what to do and returns False when there is nothing to do (no products yet…).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fieldsync.simulation.phone import Phone

Act = Callable[[Phone], bool]


@dataclass(frozen=True)
class Behaviour:
    name: str
    roles: tuple[str, ...]
    weight: int
    needs: tuple[str, ...]
    act: Act


BEHAVIOURS: list[Behaviour] = []


def behaviour(
    name: str, *, roles: tuple[str, ...], weight: int, needs: tuple[str, ...]
) -> Callable[[Act], Act]:
    def register(act: Act) -> Act:
        BEHAVIOURS.append(Behaviour(name, roles, weight, needs, act))
        return act

    return register


ALL_ROLES = ("field_staff", "distributor_staff", "inspector", "supplier_staff", "support_agent")


@behaviour("rename myself", roles=ALL_ROLES, weight=1, needs=("profile.update",))
def rename(phone: Phone) -> bool:
    phone.queue("profile.update", {"display_name": f"{phone.spec.username} {phone.rng.randrange(1000)}"})
    return True


class Playbook:
    """The behaviours a server supports, chosen by role and weight for each action."""

    def __init__(self, available: set[str]) -> None:
        self.available = available
        self.by_role: dict[str, list[Behaviour]] = {}
        for b in BEHAVIOURS:
            if set(b.needs) <= available:
                for role in b.roles:
                    self.by_role.setdefault(role, []).append(b)

    def names(self) -> list[str]:
        return sorted({b.name for bs in self.by_role.values() for b in bs})

    def act(self, phone: Phone) -> None:
        """Do one thing: a weighted pick among the role's behaviours, falling back until one acts."""
        options = list(self.by_role.get(phone.spec.role, ()))
        while options:
            pick = phone.rng.choices(options, weights=[b.weight for b in options])[0]
            if pick.act(phone):
                phone.tally.events[f"did: {pick.name}"] += 1
                return
            options.remove(pick)

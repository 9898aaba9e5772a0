"""The fleet: simulated people with phones, set up through the admin API of a running server.

Each phone belongs to its own user (``sim-<role>-<n>``, created once and reused on later runs)
in an organisation of the demo network that fits the role; field staff and inspectors get a
route of their distributor's terminals, and their distributors a shop-visit checklist with a
photo question. Everything goes over HTTP, as an administrator would do it.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import httpx

DEMO_PASSWORD = "fieldsync-demo"

# Who is in the field, in what proportion (a day's mix: most phones are sales reps).
ROLE_MIX: list[tuple[str, int]] = [
    ("field_staff", 40),
    ("distributor_staff", 25),
    ("inspector", 20),
    ("supplier_staff", 10),
    ("support_agent", 5),
]
SHORT = {
    "field_staff": "field",
    "distributor_staff": "dist",
    "inspector": "insp",
    "supplier_staff": "sup",
    "support_agent": "agent",
}


@dataclass
class Network:
    """The organisations of the running server, by kind."""

    platform: dict[str, Any] | None = None
    suppliers: list[dict[str, Any]] = field(default_factory=list)
    distributors: list[dict[str, Any]] = field(default_factory=list)
    terminals: list[dict[str, Any]] = field(default_factory=list)

    def terminals_of(self, distributor_id: str) -> list[dict[str, Any]]:
        return [t for t in self.terminals if t["parent_id"] == distributor_id]


@dataclass
class PhoneSpec:
    index: int
    username: str
    role: str
    org_id: str
    client_id: str
    user_id: str = ""
    token: str = ""
    route: list[str] = field(default_factory=list)  # terminal ids


class AdminApi:
    """The few admin calls the fleet needs."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    async def organisations(self) -> Network:
        net = Network()
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            response = await self.http.get("/admin/organisations", params=params, headers=self.headers)
            response.raise_for_status()
            page = response.json()
            for org in page["items"]:
                if org["kind"] == "supplier":
                    net.suppliers.append(org)
                elif org["kind"] == "distributor":
                    net.distributors.append(org)
                elif org["kind"] == "terminal":
                    net.terminals.append(org)
                elif org["kind"] == "service_provider" and net.platform is None:
                    net.platform = org
            cursor = page.get("next_cursor")
            if not cursor:
                return net

    async def create_user(self, spec: PhoneSpec, password: str) -> None:
        response = await self.http.post(
            "/admin/users",
            json={
                "org_id": spec.org_id,
                "username": spec.username,
                "display_name": spec.username.replace("-", " ").title(),
                "role": spec.role,
                "password": password,
            },
            headers=self.headers,
        )
        if response.status_code not in (200, 201, 409):
            raise RuntimeError(f"creating {spec.username}: HTTP {response.status_code} {response.text[:200]}")

    async def assign_route(self, spec: PhoneSpec, terminal_ids: list[str]) -> list[str]:
        """Put ``terminal_ids`` on the field user's route; returns those now on it.

        Uses the territory API when the server has it; a server without it leaves routes empty.
        """
        assigned: list[str] = []
        for terminal_id in terminal_ids:
            response = await self.http.post(
                "/routes",
                json={"user_id": spec.user_id, "terminal_id": terminal_id},
                headers=self.headers,
            )
            if response.status_code in (200, 201, 409):
                assigned.append(terminal_id)
            elif response.status_code in (404, 405):
                return []
        return assigned

    async def ensure_template(self, owner_id: str, title: str, questions: list[dict[str, Any]]) -> bool:
        """Publish an inspection template owned by ``owner_id`` unless one titled ``title`` is
        current already; False when the server has no templates (or refuses)."""
        listed = await self.http.get(
            "/inspection-templates", params={"owner_id": owner_id, "limit": 500}, headers=self.headers
        )
        if listed.status_code != 200:
            return False
        if any(t["title"] == title for t in listed.json()["items"]):
            return True
        created = await self.http.post(
            "/inspection-templates",
            json={"owner_id": owner_id, "title": title, "questions": questions},
            headers=self.headers,
        )
        return created.status_code in (200, 201)


# The checklist the fleet's reps and inspectors use at every shop of their distributor.
VISIT_TITLE = "Shop visit with shelf photo (simulated)"
VISIT_QUESTIONS: list[dict[str, Any]] = [
    {"id": "clean", "kind": "yes_no", "text": "Shelf clean and tidy?"},
    {"id": "facings", "kind": "number", "text": "Facings of ours", "min": 0, "max": 40, "pass_min": 4},
    {
        "id": "placement",
        "kind": "single_choice",
        "text": "Where is the shelf?",
        "options": ["eye", "waist", "floor"],
        "scores": {"eye": 1, "waist": 0.5},
    },
    {"id": "remarks", "kind": "text", "text": "Remarks", "required": False},
    {"id": "shelf", "kind": "photo", "text": "Photo of the shelf", "min_count": 1, "weight": 2},
]


async def login(
    http: httpx.AsyncClient, username: str, password: str, client_id: str
) -> tuple[int, dict[str, Any]]:
    response = await http.post(
        "/auth/login",
        # every phone registers an FCM token, as the app does, so chat pushes are owed to it
        json={
            "username": username,
            "password": password,
            "client_id": client_id,
            "platform": "android",
            "push_token": f"fcm-{client_id}",
        },
    )
    return response.status_code, (response.json() if response.content else {})


def plan(count: int, net: Network, *, prefix: str = "sim") -> list[PhoneSpec]:
    """Which phones the fleet has: roles by ``ROLE_MIX``, organisations round-robin."""
    roles = [role for role, weight in ROLE_MIX for _ in range(weight)]
    specs: list[PhoneSpec] = []
    per_role: dict[str, int] = {}
    for i in range(count):
        role = roles[(i * 37) % len(roles)] if count > 1 else "field_staff"
        n = per_role[role] = per_role.get(role, 0) + 1
        if role == "supplier_staff":
            org = net.suppliers[n % len(net.suppliers)]
        elif role == "support_agent":
            assert net.platform is not None, "the network has no service provider for support agents"
            org = net.platform
        else:
            org = net.distributors[n % len(net.distributors)]
        specs.append(
            PhoneSpec(
                index=i,
                username=f"{prefix}-{SHORT[role]}-{n:03d}",
                role=role,
                org_id=org["id"],
                client_id=f"{prefix}-phone-{i:04d}",
            )
        )
    return specs


async def enrol(
    http: httpx.AsyncClient,
    admin: AdminApi,
    specs: list[PhoneSpec],
    net: Network,
    rng: random.Random,
    *,
    password: str = DEMO_PASSWORD,
    concurrency: int = 4,
    route_size: int = 6,
) -> None:
    """Make sure every phone's user exists, sign each phone in, give field staff and inspectors a
    route, and publish the visit checklist for their distributors."""
    gate = asyncio.Semaphore(concurrency)

    async def one(spec: PhoneSpec) -> None:
        async with gate:
            status, body = await login(http, spec.username, password, spec.client_id)
            if status != 200:
                await admin.create_user(spec, password)
                status, body = await login(http, spec.username, password, spec.client_id)
            if status != 200:
                raise RuntimeError(f"{spec.username} cannot sign in: HTTP {status} {body}")
            spec.token = body["access_token"]
            spec.user_id = body.get("user_id") or body.get("user", {}).get("id", "")
            if spec.role in ("field_staff", "inspector"):
                terminals = [t["id"] for t in net.terminals_of(spec.org_id)]
                chosen = rng.sample(terminals, min(route_size, len(terminals)))
                if spec.user_id:
                    spec.route = await admin.assign_route(spec, chosen)

    await asyncio.gather(*(one(s) for s in specs))
    for org_id in sorted({s.org_id for s in specs if s.role in ("field_staff", "inspector")}):
        await admin.ensure_template(org_id, VISIT_TITLE, VISIT_QUESTIONS)
    await open_conversations(http, specs)


async def open_conversations(http: httpx.AsyncClient, specs: list[PhoneSpec]) -> int:
    """One group chat per distributor: its phones plus a supplier's phone. Returns how many opened.

    Opened by the group's first member through ``POST /conversations``; a server that refuses
    (or has no messaging) just leaves the fleet without chats.
    """
    suppliers = [s for s in specs if s.role == "supplier_staff" and s.user_id]
    groups: dict[str, list[PhoneSpec]] = {}
    for spec in specs:
        if spec.role in ("distributor_staff", "field_staff", "inspector") and spec.user_id:
            groups.setdefault(spec.org_id, []).append(spec)
    opened = 0
    for n, (_org, members) in enumerate(sorted(groups.items())):
        people = members + ([suppliers[n % len(suppliers)]] if suppliers else [])
        if len(people) < 2:
            continue
        response = await http.post(
            "/conversations",
            json={
                "kind": "group",
                "member_ids": [p.user_id for p in people[1:]],
                "title": f"Team {n + 1} (simulated)",
            },
            headers={"Authorization": f"Bearer {people[0].token}"},
        )
        opened += response.status_code in (200, 201)
    return opened


async def network_from_database(session: Any) -> Network:
    """The same :class:`Network` the admin API lists (organisations by id), read directly."""
    from sqlalchemy import select

    from backend.identity import Organisation

    net = Network()
    for org in (await session.execute(select(Organisation).order_by(Organisation.id))).scalars():
        row = {"id": org.id, "kind": org.kind, "parent_id": org.parent_id, "code": org.code}
        if org.kind == "supplier":
            net.suppliers.append(row)
        elif org.kind == "distributor":
            net.distributors.append(row)
        elif org.kind == "terminal":
            net.terminals.append(row)
        elif org.kind == "service_provider" and net.platform is None:
            net.platform = row
    return net


async def seed_fleet_users(
    session: Any, count: int, *, prefix: str = "sim", password: str = DEMO_PASSWORD
) -> list[PhoneSpec]:
    """Create the users :func:`plan` would enrol, straight in the database with one shared hash.

    For local servers (tests, ``--spawn``): signing in is then all the fleet asks of the server,
    instead of one password hash per user. The caller commits.
    """
    from backend.identity import service as identity
    from backend.identity.passwords import hash_password

    specs = plan(count, await network_from_database(session), prefix=prefix)
    shared = hash_password(password)
    for spec in specs:
        await identity.create_user(
            session,
            org_id=spec.org_id,
            username=spec.username,
            display_name=spec.username.replace("-", " ").title(),
            role=spec.role,
            password=password,
            password_hash=shared,
        )
    return specs

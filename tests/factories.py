"""Factories for tests: a small seeded network with handles by name, and sign-in helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalog import Category, Product
from backend.demo import DEMO_PASSWORD, seed_demo
from backend.identity import Organisation, User


@dataclass
class Network:
    orgs: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    categories: dict[tuple[str, str], Category] = field(default_factory=dict)
    password: str = DEMO_PASSWORD

    def org(self, code: str) -> Organisation:
        return self.orgs[code]

    def user(self, username: str) -> User:
        return self.users[username]


async def build_network(
    session: AsyncSession, *, terminals: int = 12, skus: int = 40, activity: bool = False
) -> Network:
    """The demo network at test size; ``activity`` adds each domain's demo rows too."""
    await seed_demo(session, terminals=terminals, skus=skus, activity=activity)
    return await load_network(session)


async def load_network(session: AsyncSession) -> Network:
    """Handles by name on the network already in the database."""
    net = Network()
    net.orgs = {o.code: o for o in (await session.execute(select(Organisation))).scalars()}
    net.users = {u.username: u for u in (await session.execute(select(User))).scalars()}
    net.products = {p.sku: p for p in (await session.execute(select(Product))).scalars()}
    by_id = {o.id: o.code for o in net.orgs.values()}
    net.categories = {
        (by_id[c.supplier_id], c.code): c for c in (await session.execute(select(Category))).scalars()
    }
    return net


async def login(
    client: Any, username: str, *, password: str = DEMO_PASSWORD, client_id: str = "test-phone"
) -> dict:
    """Sign in over the API; returns the token response."""
    response = await client.post(
        "/auth/login",
        json={"username": username, "password": password, "client_id": client_id, "platform": "android"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def auth_headers(client: Any, username: str, **kwargs: Any) -> dict[str, str]:
    tokens = await login(client, username, **kwargs)
    return {"Authorization": f"Bearer {tokens['access_token']}"}

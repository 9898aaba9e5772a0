"""Demo activity of this domain, seeded after the network exists (filled in by its issue)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.demo_network import DemoNetwork


async def seed(session: AsyncSession, net: DemoNetwork) -> None:
    """Add this domain's demo rows to session (the caller commits)."""

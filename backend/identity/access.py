"""Who is calling, and the one place identity decides what they may see and change."""

from __future__ import annotations

from dataclasses import dataclass

from backend.identity.errors import NotAllowed, OrgNotFound


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: str
    org_id: str
    org_kind: str
    role: str
    device_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require_admin(self) -> None:
        if not self.is_admin:
            raise NotAllowed("only an administrator may do this")

    def require_role(self, *roles: str) -> None:
        if not self.is_admin and self.role not in roles:
            raise NotAllowed(f"this needs one of the roles: {', '.join(roles)}")

    def require_org(self, org_id: str) -> None:
        """Administrators act on any organisation, everyone else on their own."""
        if not self.is_admin and org_id != self.org_id:
            raise OrgNotFound("no such organisation")  # another one's looks missing, not forbidden

    def visible_org(self, requested: str | None) -> str | None:
        """The organisation filter a listing must apply (``None`` only for administrators)."""
        if self.is_admin:
            return requested
        if requested is not None and requested != self.org_id:
            raise OrgNotFound("no such organisation")
        return self.org_id

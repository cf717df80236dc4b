"""Who is asking, once proven, and what their roles let them do (RBAC)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RBAC", "Principal"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``method`` says how it was proven: ``"bearer"`` (an access token),
    ``"session"`` (a session cookie) or ``"api_key"``. ``scopes`` limits what a
    *delegated* credential may do - a token or an API key carries the scopes
    it was granted; ``None`` (a session: the user in person) means no such
    limit, and only the roles decide.
    """

    subject: str
    method: str
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def has_scopes(self, scopes: Iterable[str]) -> bool:
        return self.scopes is None or self.scopes.issuperset(scopes)


class RBAC:
    """Role-based access control: roles are granted to users, permissions to roles.

    Code asks for a *permission* (``todos:delete``), never for a role, so
    "who may delete todos" is changed in this table, not in every endpoint::

        RBAC({"admin": {"todos:delete", "users:manage"}, "member": {"todos:write"}},
             inherits={"admin": {"member"}})

    ``inherits``: a role has the permissions of the roles it names, too.
    """

    def __init__(
        self,
        roles: Mapping[str, Iterable[str]],
        *,
        inherits: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        inherits = inherits or {}
        unknown = {r for parents in inherits.values() for r in parents} - set(roles)
        unknown |= set(inherits) - set(roles)
        if unknown:
            raise ValueError(f"RBAC: inherits= names roles that are not defined: {sorted(unknown)}")
        self._permissions: dict[str, frozenset[str]] = {}
        for role in roles:
            seen: set[str] = set()
            pending = [role]
            granted: set[str] = set()
            while pending:  # a walk, not recursion: a cycle cannot loop forever
                current = pending.pop()
                if current in seen:
                    continue
                seen.add(current)
                granted.update(roles[current])
                pending.extend(inherits.get(current, ()))
            self._permissions[role] = frozenset(granted)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self._permissions)

    def permissions(self, roles: Iterable[str]) -> frozenset[str]:
        """Every permission the ``roles`` grant together (unknown roles grant none)."""
        granted: set[str] = set()
        for role in roles:
            granted |= self._permissions.get(role, frozenset())
        return frozenset(granted)

    def allows(self, roles: Iterable[str], permission: str) -> bool:
        return permission in self.permissions(roles)

"""Who may do what with a connection: roles, the audience of a connection, the acting user."""

from __future__ import annotations

import enum
from typing import Literal

import attrs

from ac_segment_export._core.errors import ConfigurationError

__all__ = ["Actor", "Audience", "Role"]


class Role(str, enum.Enum):
    """The acting user's role in the embedding platform.

    Admins set up, change and remove connections and may read their API key. Contributors
    may create and run exports through a connection whose :class:`Audience` allows them,
    but may never read its key or change it.
    """

    ADMIN = "admin"
    CONTRIBUTOR = "contributor"


class Audience(str, enum.Enum):
    """Who may run exports through a connection."""

    #: Only admins (the default).
    ADMINS = "admins"
    #: Admins and contributors.
    ADMINS_AND_CONTRIBUTORS = "admins_and_contributors"

    def allows(self, role: Role) -> bool:
        """Whether a user with *role* may use (run exports through) the connection."""
        return role is Role.ADMIN or self is Audience.ADMINS_AND_CONTRIBUTORS


def _user(user: str) -> str:
    value: object = user  # checked for callers without type checking
    if not isinstance(value, str) or not value.strip():
        msg = f"An actor needs a non-blank user identity (a name or email), not {value!r}."
        raise ConfigurationError(msg)
    return value.strip()


def _role(value: Role | Literal["admin", "contributor"]) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(repr(r.value) for r in Role)
        msg = f"Unknown role {value!r}; expected one of {allowed}."
        raise ConfigurationError(msg) from None


@attrs.frozen
class Actor:
    """The platform user on whose behalf an action is taken.

    Args:
        user: The user's identity (a name or email); it appears in errors and consent records.
        role: :attr:`Role.ADMIN` or :attr:`Role.CONTRIBUTOR` (or their string values).
    """

    user: str = attrs.field(converter=_user)
    role: Role = attrs.field(converter=_role)

    @classmethod
    def admin(cls, user: str) -> Actor:
        """An admin acting as *user*."""
        return cls(user, Role.ADMIN)

    @classmethod
    def contributor(cls, user: str) -> Actor:
        """A contributor acting as *user*."""
        return cls(user, Role.CONTRIBUTOR)

    @property
    def is_admin(self) -> bool:
        """Whether the actor is an admin."""
        return self.role is Role.ADMIN

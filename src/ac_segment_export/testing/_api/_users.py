"""The emulated ``/users`` endpoint: the key's own user."""

from __future__ import annotations

from ac_segment_export.testing._api._base import Call, Reply, Resource, json_reply
from ac_segment_export.testing._render import render_user

__all__ = ["Users"]


class Users(Resource):
    """``/users/me``."""

    def users_me(self, call: Call, _now: float) -> Reply:
        """``GET /users/me``."""
        return json_reply(200, {"user": render_user(call.base)})

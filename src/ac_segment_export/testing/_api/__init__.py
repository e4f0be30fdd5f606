"""Routing and handlers of the emulated ``/api/3`` endpoints, one module per resource.

- ``_router.py``: :class:`Api`, the route table and the dispatch;
- ``_base.py``: :class:`Call`, :class:`Reply`, :func:`json_reply` and what every handler
  shares;
- one module per resource: ``_users.py``, ``_lists.py``, ``_contacts.py``,
  ``_memberships.py`` (contactLists), ``_fields.py`` (fields and field values) and
  ``_bulk.py`` (bulk import).
"""

from ac_segment_export.testing._api._base import Call, Reply, json_reply
from ac_segment_export.testing._api._router import Api

__all__ = ["Api", "Call", "Reply", "json_reply"]

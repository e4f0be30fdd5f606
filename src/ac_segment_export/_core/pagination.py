"""Page arithmetic, written once: which request comes next, and when to stop.

Offset paging adds ``limit`` to ``offset`` until a short page or ``meta.total`` ends it. For
large contact scans, ID paging (``orders[id]=ASC`` + ``id_greater=<last id>``) keeps every
page as cheap as the first and cannot skip or repeat a contact when others are added
meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from ac_segment_export._core.http import RequestSpec

__all__ = ["PAGE_SIZE", "IdPager", "OffsetPager"]

#: The largest page ActiveCampaign serves.
PAGE_SIZE = 100

T = TypeVar("T")


def _total(body: Mapping[str, Any]) -> int | None:
    meta = body.get("meta")
    if not isinstance(meta, Mapping):
        return None
    try:
        return int(meta.get("total"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


@attrs.define
class OffsetPager(Generic[T]):
    """``limit``/``offset`` paging over one collection endpoint.

    Attributes:
        path: The collection path, e.g. ``"lists"``.
        key: The collection key in the body, e.g. ``"lists"``.
        parse: Turns one page's body into its items.
        params: Filters sent with every page.
        page_size: Items per page (at most 100).
    """

    path: str
    key: str
    parse: Callable[[Mapping[str, Any]], Sequence[T]]
    params: tuple[tuple[str, str], ...] = ()
    page_size: int = PAGE_SIZE
    offset: int = 0

    def first(self) -> RequestSpec:
        """The request for the first page."""
        return self._spec()

    def _spec(self) -> RequestSpec:
        params = (*self.params, ("limit", str(self.page_size)), ("offset", str(self.offset)))
        return RequestSpec("GET", self.path, params=params)

    def advance(self, body: Mapping[str, Any]) -> tuple[Sequence[T], RequestSpec | None]:
        """The items of *body* and the request for the next page (``None`` at the end)."""
        items = self.parse(body)
        self.offset += len(items)
        total = _total(body)
        done = len(items) < self.page_size or (total is not None and self.offset >= total)
        return items, None if done else self._spec()


@attrs.define
class IdPager(Generic[T]):
    """``id_greater`` paging over contacts, in ascending ID order."""

    path: str
    key: str
    parse: Callable[[Mapping[str, Any]], Sequence[T]]
    id_of: Callable[[T], int]
    params: tuple[tuple[str, str], ...] = ()
    page_size: int = PAGE_SIZE
    after: int = 0

    def first(self) -> RequestSpec:
        """The request for the first page."""
        return self._spec()

    def _spec(self) -> RequestSpec:
        params = (
            *self.params,
            ("orders[id]", "ASC"),
            ("id_greater", str(self.after)),
            ("limit", str(self.page_size)),
        )
        return RequestSpec("GET", self.path, params=params)

    def advance(self, body: Mapping[str, Any]) -> tuple[Sequence[T], RequestSpec | None]:
        """The items of *body* and the request for the next page (``None`` at the end)."""
        items = self.parse(body)
        if not items:
            return items, None
        last = max(self.id_of(item) for item in items)
        if last <= self.after:  # the server ignored id_greater: stop rather than loop
            return items, None
        self.after = last
        return items, None if len(items) < self.page_size else self._spec()

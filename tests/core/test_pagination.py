"""Page arithmetic without HTTP: next requests and when paging stops."""

from __future__ import annotations

from typing import Any

from ac_segment_export._core.pagination import IdPager, OffsetPager


def _items(body: Any) -> list[int]:
    return list(body["items"])


def _body(ids: list[int], total: int | str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"items": ids}
    if total is not None:
        body["meta"] = {"total": str(total)}
    return body


def test_offset_pager_walks_until_the_total() -> None:
    """Offsets advance by the items received; meta.total (a string) ends the walk."""
    pager = OffsetPager("lists", "items", _items, params=(("filters[name]", "x"),), page_size=2)
    first = pager.first()
    assert first.params == (("filters[name]", "x"), ("limit", "2"), ("offset", "0"))
    items, nxt = pager.advance(_body([1, 2], total=4))
    assert items == [1, 2]
    assert nxt is not None
    assert dict(nxt.params)["offset"] == "2"
    items, nxt = pager.advance(_body([3, 4], total=4))
    assert items == [3, 4]
    assert nxt is None


def test_offset_pager_stops_on_a_short_page_without_total() -> None:
    """With no meta.total, a short page is the last."""
    pager = OffsetPager("x", "items", _items, page_size=3)
    items, nxt = pager.advance(_body([1, 2, 3]))
    assert items == [1, 2, 3]
    assert nxt is not None
    assert nxt.params == (("limit", "3"), ("offset", "3"))
    assert pager.advance(_body([4])) == ([4], None)


def test_offset_pager_ignores_a_garbled_total() -> None:
    """A total that is not a number is ignored rather than trusted."""
    pager = OffsetPager("x", "items", _items, page_size=2)
    items, nxt = pager.advance({"items": [1, 2], "meta": {"total": "many"}})
    assert items == [1, 2]
    assert nxt is not None  # the full page, not the garbled total, decides
    assert dict(nxt.params)["offset"] == "2"
    # ... and a later short page still ends the walk.
    assert pager.advance({"items": [3], "meta": {"total": "many"}}) == ([3], None)


def test_id_pager_follows_the_last_id() -> None:
    """ID paging asks for ids greater than the largest seen, in ascending order."""
    pager = IdPager("contacts", "items", _items, id_of=lambda i: i, page_size=2)
    assert dict(pager.first().params) == {"orders[id]": "ASC", "id_greater": "0", "limit": "2"}
    _, nxt = pager.advance(_body([5, 9]))
    assert nxt is not None
    assert dict(nxt.params)["id_greater"] == "9"
    assert pager.advance(_body([12]))[1] is None


def test_id_pager_stops_when_the_server_ignores_id_greater() -> None:
    """A page that does not move past the last ID ends the walk instead of looping."""
    pager = IdPager("contacts", "items", _items, id_of=lambda i: i, page_size=2)
    pager.advance(_body([1, 2]))
    items, nxt = pager.advance(_body([1, 2]))
    assert items == [1, 2]
    assert nxt is None


def test_id_pager_stops_on_an_empty_page() -> None:
    """An empty page ends the walk."""
    pager = IdPager("contacts", "items", _items, id_of=lambda i: i)
    assert pager.advance(_body([])) == ([], None)

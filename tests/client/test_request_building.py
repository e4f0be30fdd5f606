"""Requests are built with fewer URL parses, and are the same requests httpx would build.

The client parses a path's URL once and writes a query whole (``_BaseClient._url``); these
tests hold its requests to those of ``httpx.Client.build_request`` given the plain string and
the parameters, and check the cases that must still go through httpx (a client's own
parameters, a path holding a query). The debug line of each answer is only formatted when
debug logging is on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ac_segment_export as acx
from ac_segment_export._client import _client
from ac_segment_export._core.http import RequestSpec
from ac_segment_export._core.ops import bulk_import_info, bulk_import_submit_encoded

if TYPE_CHECKING:
    from collections.abc import Callable

    from ac_segment_export.testing import ActiveCampaignEmulator

HOST = "acme.api-us1.com"
KEY = "test-key"

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_paths = st.lists(st.text("abcxyz019-_.~%:@!$&'()*+,;= é/", min_size=1, max_size=10), max_size=3)


def _reference(client: acx.Client, spec: RequestSpec) -> httpx.Request:
    """The request as the client built it before: a string URL and the parameters to httpx."""
    headers = dict(_client._HEADERS)
    kwargs: dict[str, Any] = {}
    if spec.content is not None:
        kwargs["content"] = spec.content
        headers["Content-Type"] = "application/json"
    elif spec.json is not None:
        kwargs["json"] = spec.json
    return client._http.build_request(
        spec.method,
        client.base_url + spec.path,
        params=list(spec.params) or None,
        headers=headers,
        timeout=client.timeout,
        **kwargs,
    )


def _same(built: httpx.Request, reference: httpx.Request) -> None:
    assert str(built.url) == str(reference.url)
    assert built.url.raw_path == reference.url.raw_path
    assert built.url.query == reference.url.query
    assert built.method == reference.method
    assert built.headers.raw == reference.headers.raw
    assert built.read() == reference.read()
    assert built.extensions == reference.extensions


def test_urls_and_queries_are_those_httpx_builds() -> None:
    """Any path and parameters (repeated keys, empty values, non-ASCII, reserved characters)."""
    with acx.Client(HOST, KEY) as client:

        @settings(max_examples=300, deadline=None)
        @given(
            path=_paths.map("/".join).filter(bool),
            params=st.lists(st.tuples(_text, _text), max_size=4),
            post=st.booleans(),
        )
        def check(path: str, params: list[tuple[str, str]], post: bool) -> None:
            spec = RequestSpec(
                "POST" if post else "GET",
                path,
                params=tuple(params),
                json={"a": 1} if post else None,
            )
            _same(client._build(client._http, spec), _reference(client, spec))
            # A second build of the same path comes from the parsed URL kept for it.
            _same(client._build(client._http, spec), _reference(client, spec))

        check()


@pytest.mark.parametrize(
    "spec",
    [
        bulk_import_submit_encoded([b'{"email":"a@example.com"}']).spec,
        bulk_import_info("batch-1", with_ids=False).spec,
        RequestSpec("GET", "contacts", params=(("email", "a+b@example.com"), ("limit", "1"))),
        RequestSpec("GET", "lists?limit=1"),
        RequestSpec("GET", "lists?limit=1", params=(("offset", "2"),)),
        RequestSpec("GET", "lists#part"),
    ],
    ids=["bulk", "info", "query", "query-in-path", "query-in-path-and-params", "fragment"],
)
def test_the_exporters_requests_are_unchanged(spec: RequestSpec) -> None:
    """The exporter's bulk import and status check, and paths that hold a query themselves."""
    with acx.Client(HOST, KEY) as client:
        _same(client._build(client._http, spec), _reference(client, spec))


def test_a_passed_http_clients_own_params_are_still_merged(emu: ActiveCampaignEmulator) -> None:
    """httpx merges the parameters of a client passed in: that path is left to httpx."""
    seen: list[httpx.Request] = []
    with httpx.Client(
        transport=emu.transport(), params={"trace": "1"}, event_hooks={"request": [seen.append]}
    ) as http:
        client = acx.Client(HOST, KEY, http_client=http, rate_limits=acx.RateLimits.unlimited())
        spec = RequestSpec("GET", "lists", params=(("limit", "1"),))
        _same(client._build(http, spec), _reference(client, spec))
        client.request("GET", "lists", params={"limit": "1"})
    [request] = seen
    assert request.url.params.multi_items() == [("trace", "1"), ("limit", "1")]


def test_the_parsed_urls_kept_are_bounded() -> None:
    """Paths with IDs in them (contacts/1, contacts/2, ...) do not grow the client forever."""
    with acx.Client(HOST, KEY) as client:
        for contact_id in range(1, 3 * _client._URL_CACHE_SIZE):
            spec = RequestSpec("GET", f"contacts/{contact_id}")
            _same(client._build(client._http, spec), _reference(client, spec))
            assert len(client._urls) <= _client._URL_CACHE_SIZE


def test_requests_through_the_emulator_reach_their_endpoints(
    make_client: Callable[..., acx.Client], emu: ActiveCampaignEmulator
) -> None:
    """End to end: a query with an email in it, a path with an ID, the same path again."""
    client = make_client()
    list_id = emu.add_list("Segment")
    created = client.contacts.create(acx.ContactInput(email="a+b@example.com"))
    assert client.contacts.find("a+b@example.com") == client.contacts.get(created.id)
    assert client.contacts.get(created.id).email == "a+b@example.com"
    assert client.lists.get(list_id).name == "Segment"
    paths = [(r.method, r.path, r.query) for r in emu.requests]
    assert ("GET", f"/contacts/{created.id}", {}) in paths
    assert ("GET", "/contacts", {"email": "a+b@example.com", "limit": "1"}) in paths
    assert ("GET", f"/lists/{list_id}", {}) in paths


class _NoCopy:
    """A URL stand-in whose query-less copy must not be asked for."""

    def copy_with(self, **_: Any) -> str:
        raise AssertionError("the debug line was formatted with debug logging off")


def _answer(url: Any) -> httpx.Response:
    response = httpx.Response(200, json={}, request=httpx.Request("GET", "https://x/api/3/y"))
    response.request.url = url
    return response


def test_the_debug_line_is_not_formatted_when_debug_is_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At the default level no URL is copied for a log line nobody reads."""
    with acx.Client(HOST, KEY) as client, caplog.at_level(logging.INFO, "ac_segment_export"):
        client._check(_answer(_NoCopy()), RequestSpec("GET", "y"), 0.0)
    assert not caplog.records


def test_the_debug_line_leaves_the_query_out(caplog: pytest.LogCaptureFixture) -> None:
    """With debug on, each answer is logged with its URL, never its query (emails are PII)."""
    url = httpx.URL("https://acme.api-us1.com/api/3/contacts?email=a%40example.com")
    with acx.Client(HOST, KEY) as client, caplog.at_level(logging.DEBUG, "ac_segment_export"):
        client._check(_answer(url), RequestSpec("GET", "contacts"), 0.0)
    [record] = caplog.records
    assert record.getMessage().startswith("GET https://acme.api-us1.com/api/3/contacts -> 200 (")
    assert "example.com" not in caplog.text

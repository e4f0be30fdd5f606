"""The API key never shows: not in reprs, strings, logs, exceptions or serialized output."""

from __future__ import annotations

import copy
import logging
import pickle
import traceback
from typing import TYPE_CHECKING, Any

import attrs
import pytest

import ac_segment_export as acx

from .conftest import ADMIN, CONTRIBUTOR, FAST, HOST, KEY

if TYPE_CHECKING:
    from collections.abc import Callable

    from ac_segment_export.testing import ActiveCampaignEmulator

WRONG_KEY = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210ffffffff"


def assert_hidden(text: str) -> None:
    assert KEY not in text
    assert WRONG_KEY not in text
    assert KEY[:16] not in text


def models(consented: acx.Connection) -> list[object]:
    mapping = acx.FieldMapping(email="Email", fields={"TIER": "Tier"})
    destination = acx.ExportDestination(consented, "VIP", 7, mapping, tags=["a"])
    resolved = destination.resolve(
        acx.MailingList(7, "VIP"), [acx.CustomField(3, "Tier", perstag="TIER")]
    )
    return [
        consented,
        consented.with_export_user("ana"),
        consented.consent,
        mapping,
        destination,
        resolved,
        resolved.mapper,
        consented.api_key,
        ADMIN,
    ]


def test_reprs_and_strings(consented: acx.Connection) -> None:
    for model in models(consented):
        for text in (repr(model), str(model), f"{model}", f"{model!r:>10}", "%s" % (model,)):  # noqa: UP031
            assert_hidden(text)
    assert "api_key=Secret('**********')" in repr(consented)


def test_serialized_output_leaves_the_key_out(consented: acx.Connection) -> None:
    destination = acx.ExportDestination(consented, "VIP", 7, acx.FieldMapping(email="Email"))
    outputs: list[object] = [
        consented.to_dict(),
        consented.to_dict(api_key_env="AC_KEY"),
        consented.to_dict(api_key_ref="vault://x"),
        consented.to_json(),
        destination.to_dict(),
        destination.to_json(api_key_env="AC_KEY"),
        destination.to_dict(include_connection=False),
    ]
    for output in outputs:
        assert_hidden(str(output))
    # Only an explicit request includes it.
    assert KEY in consented.to_json(include_secrets=True)
    assert KEY in destination.to_json(include_secrets=True)


def test_other_ways_of_dumping_a_connection(consented: acx.Connection) -> None:
    assert_hidden(str(attrs.asdict(consented)))
    assert_hidden(repr(copy.deepcopy(consented)))
    with pytest.raises(TypeError) as caught:
        pickle.dumps(consented)
    assert str(caught.value) == "A Secret cannot be pickled; store a reference to it instead."


def _raises(action: Callable[[], object]) -> BaseException:
    try:
        action()
    except Exception as exc:
        return exc
    pytest.fail("expected an exception")


def _verify(connection: acx.Connection, options: acx.ClientOptions) -> acx.User:
    with connection.client(options) as client:
        return connection.verify(client)


def _validate(
    destination: acx.ExportDestination, options: acx.ClientOptions
) -> acx.ResolvedDestination:
    with destination.connection.client(options) as client:
        return destination.validate(client)


def test_exceptions_never_hold_the_key(
    emu: ActiveCampaignEmulator, consented: acx.Connection, connection: acx.Connection
) -> None:
    options = acx.ClientOptions(transport=emu.transport(), retry=FAST)
    bad = acx.Connection("AC", HOST, WRONG_KEY)
    list_id = emu.add_list("VIP")
    actions: list[Callable[[], object]] = [
        connection.require_consent,
        lambda: consented.api_key_for(CONTRIBUTOR),
        lambda: consented.edit(CONTRIBUTOR, api_key="x"),
        lambda: consented.edit(ADMIN, api_key=""),
        lambda: consented.edit(ADMIN, consent=None),
        lambda: acx.Connection("AC", KEY, KEY),
        lambda: acx.Connection("AC", f"https://user:{KEY}@acme.api-us1.com", KEY),
        lambda: acx.Connection("AC", f"acme.api-us1.com/{KEY}", KEY),
        lambda: acx.Connection(KEY * 4, HOST, KEY),
        lambda: _verify(bad, options),
        lambda: _validate(
            acx.ExportDestination(bad, "VIP", list_id, acx.FieldMapping(email="E")), options
        ),
        lambda: _validate(
            acx.ExportDestination(consented, "VIP", 999, acx.FieldMapping(email="E")), options
        ),
        lambda: acx.Connection.from_dict({**consented.to_dict(), "colour": 1}, api_key=KEY),
        lambda: acx.Connection.from_dict(
            consented.to_dict(include_secrets=True) | {"host": "http://x.com"}
        ),
        lambda: consented.verify(acx.Client(HOST, WRONG_KEY)),
    ]
    for action in actions:
        exc = _raises(action)
        assert isinstance(exc, acx.ACSegmentExportError), exc
        assert_hidden(str(exc))
        assert_hidden(repr(exc))
        assert_hidden("".join(traceback.format_exception(exc)))
        assert_hidden(repr(vars(exc)))


def test_logs_never_hold_the_key(
    emu: ActiveCampaignEmulator, consented: acx.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    list_id = emu.add_list("VIP")
    emu.add_field("Tier", perstag="TIER")
    bad = acx.Connection("AC", HOST, WRONG_KEY)
    options = acx.ClientOptions(transport=emu.transport(), retry=FAST)
    with caplog.at_level(logging.DEBUG):
        _verify(consented, options)
        _validate(
            acx.ExportDestination(
                consented, "VIP", list_id, acx.FieldMapping(email="E", fields={"TIER": "T"})
            ),
            options,
        )
        with pytest.raises(acx.AuthenticationError):
            _verify(bad, options)
        consented.revoke_consent(ADMIN)
    assert caplog.records, "expected some log records to check"
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + repr(vars(record))
        assert_hidden(text)


@pytest.mark.parametrize(
    "make",
    [
        lambda c: c.client(),
        lambda c: c.async_client(),
    ],
)
def test_clients_made_from_a_connection_hide_the_key(
    consented: acx.Connection, make: Callable[[acx.Connection], Any]
) -> None:
    client = make(consented)
    assert_hidden(repr(client))
    assert repr(client).endswith("(host='acme.api-us1.com')")

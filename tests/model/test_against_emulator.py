"""verify(), validate() and the consent rule, against the emulator (transport and socket)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import ac_segment_export as acx
from ac_segment_export import ExportOptions

if TYPE_CHECKING:
    from ac_segment_export.testing import ActiveCampaignEmulator
from .conftest import ADMIN, CONTRIBUTOR, FAST, HOST, KEY, UNLIMITED

EMULATOR_USER = acx.User(
    id=1,
    username="emulator",
    first_name="Emulated",
    last_name="User",
    email="emulator@example.com",
)


def paths(emu: ActiveCampaignEmulator) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in emu.requests]


# -- verify ------------------------------------------------------------------------------------


def test_verify_returns_the_keys_user(
    emu: ActiveCampaignEmulator, connection: acx.Connection, options: acx.ClientOptions
) -> None:
    with connection.client(options) as client:
        assert connection.verify(client) == EMULATOR_USER
    assert paths(emu) == [("GET", "/users/me", 200)]


def test_verify_needs_no_consent(connection: acx.Connection, options: acx.ClientOptions) -> None:
    assert connection.consent is None
    with connection.client(options) as client:
        connection.verify(client)


def test_verify_through_a_given_client(
    emu: ActiveCampaignEmulator, connection: acx.Connection, options: acx.ClientOptions
) -> None:
    with connection.client(options) as client:
        assert connection.verify(client) == EMULATOR_USER
        assert connection.verify(client) == EMULATOR_USER  # the given client is not closed
    assert len(emu.requests) == 2


def test_verify_refuses_a_client_for_another_account(
    emu: ActiveCampaignEmulator, connection: acx.Connection
) -> None:
    with acx.Client("other.api-us1.com", KEY, transport=emu.transport()) as other_host:
        with pytest.raises(
            acx.ConfigurationError, match=r"The client talks to other\.api-us1\.com"
        ):
            connection.verify(other_host)
    with acx.Client(HOST, "another-key", transport=emu.transport()) as other_key:
        with pytest.raises(acx.ConfigurationError, match="uses another API key"):
            connection.verify(other_key)
    assert emu.requests == []


def test_a_bad_key_says_where_the_key_is(options: acx.ClientOptions) -> None:
    connection = acx.Connection("AC", HOST, "wrong-key")
    with pytest.raises(acx.AuthenticationError) as caught, connection.client(options) as client:
        connection.verify(client)
    assert "Settings > Developer" in str(caught.value)
    assert caught.value.status_code == 403
    assert "wrong-key" not in str(caught.value)


def test_an_unreachable_host_names_the_host() -> None:
    # Port 9 on loopback (discard) is closed on test machines: the connection is refused.
    connection = acx.Connection("AC", "http://127.0.0.1:9", KEY)
    never = acx.ClientOptions(retry=acx.RetryPolicy.never(), timeout=2)
    with pytest.raises(acx.APIConnectionError) as caught, connection.client(never) as client:
        connection.verify(client)
    assert "127.0.0.1" in str(caught.value)
    assert KEY not in str(caught.value)


def test_verify_over_a_socket(emu: ActiveCampaignEmulator) -> None:
    with emu.serve() as base_url:
        connection = acx.Connection("Local", base_url, KEY)
        assert connection.host == base_url
        with connection.client(acx.ClientOptions(retry=FAST, rate_limits=UNLIMITED)) as client:
            assert connection.verify(client) == EMULATOR_USER


def test_verify_builds_and_closes_a_default_client(emu: ActiveCampaignEmulator) -> None:
    """Without a client, verify() builds connection.client() (the defaults) and closes it."""
    with emu.serve() as base_url:
        assert acx.Connection("Local", base_url, KEY).verify() == EMULATOR_USER


@pytest.mark.anyio
async def test_averify(
    emu: ActiveCampaignEmulator, connection: acx.Connection, options: acx.ClientOptions
) -> None:
    async with connection.async_client(options) as client:
        assert await connection.averify(client) == EMULATOR_USER
    bad = acx.Connection("AC", HOST, "wrong-key")
    with pytest.raises(acx.AuthenticationError, match="Settings > Developer"):
        async with bad.async_client(options) as client:
            await bad.averify(client)
    with emu.serve() as base_url:
        assert await acx.Connection("Local", base_url, KEY).averify() == EMULATOR_USER


# -- validate -----------------------------------------------------------------------------------


@pytest.fixture
def account(emu: ActiveCampaignEmulator) -> dict[str, int]:
    """A list, and 130 custom fields so that the interesting ones are on the second page."""
    ids = {"list": emu.add_list("VIP customers")}
    for i in range(120):
        emu.add_field(f"Filler {i:03}", perstag=f"FILLER_{i:03}")
    ids["tier"] = emu.add_field("Loyalty tier", perstag="LOYALTY_TIER")
    ids["size"] = emu.add_field("Size", type="dropdown", perstag="SIZE", options=("S", "M", "L"))
    ids["birthday"] = emu.add_field("Birthday", type="date", perstag="BIRTHDAY")
    emu.reset_requests()
    return ids


def destination_for(
    connection: acx.Connection, list_id: int, **fields: str
) -> acx.ExportDestination:
    mapping = acx.FieldMapping(email="Email", fields=fields or {"LOYALTY_TIER": "Tier"})
    return acx.ExportDestination(connection, "VIP", list_id, mapping)


def validated(
    destination: acx.ExportDestination, options: acx.ClientOptions
) -> acx.ResolvedDestination:
    with destination.connection.client(options) as client:
        return destination.validate(client)


async def avalidated(
    destination: acx.ExportDestination, options: acx.ClientOptions
) -> acx.ResolvedDestination:
    async with destination.connection.async_client(options) as client:
        return await destination.avalidate(client)


def test_validate_resolves_the_list_and_fields_from_every_page(
    emu: ActiveCampaignEmulator,
    connection: acx.Connection,
    account: dict[str, int],
    options: acx.ClientOptions,
) -> None:
    destination = acx.ExportDestination(
        connection,
        "VIP",
        account["list"],
        acx.FieldMapping(
            email="Email",
            fields={"LOYALTY_TIER": "Tier", "Size": "Size", account["birthday"]: "DOB"},
        ),
    )
    resolved = validated(destination, options)
    assert resolved.list_name == "VIP customers"
    assert resolved.list_id == account["list"]
    assert [f.id for f in resolved.fields] == [
        account["tier"],
        account["size"],
        account["birthday"],
    ]
    assert resolved.fields[1].options == ("S", "M", "L")
    # The fields were on the second page: both pages were read.
    field_pages = [r.query.get("offset") for r in emu.requests if r.path == "/fields"]
    assert field_pages == ["0", "100"]
    assert paths(emu)[0] == ("GET", f"/lists/{account['list']}", 200)
    assert resolved.mapper.map({"Email": "a@b.co", "Size": "m", "DOB": "2024-05-01"}) == (
        acx.MappedProfile(
            "a@b.co",
            fields=(
                acx.FieldValueInput(account["size"], "M"),
                acx.FieldValueInput(account["birthday"], "2024-05-01"),
            ),
        )
    )
    # The options came from the account: a value outside them is a rejection.
    rejection = resolved.mapper.map({"Email": "a@b.co", "Size": "XXL"})
    assert rejection == acx.Rejection(
        "field 'Size' (attribute 'Size'): 'XXL' is not one of the field's options ('S', 'M', 'L')",
        "Size",
        "a@b.co",
    )


def test_validate_needs_no_consent_and_sends_no_profile_data(
    emu: ActiveCampaignEmulator,
    connection: acx.Connection,
    account: dict[str, int],
    options: acx.ClientOptions,
) -> None:
    validated(destination_for(connection, account["list"]), options)
    assert {r.method for r in emu.requests} == {"GET"}


def test_validate_without_custom_fields_reads_only_the_list(
    emu: ActiveCampaignEmulator,
    connection: acx.Connection,
    account: dict[str, int],
    options: acx.ClientOptions,
) -> None:
    destination = acx.ExportDestination(
        connection, "VIP", account["list"], acx.FieldMapping(email="Email")
    )
    validated(destination, options)
    assert paths(emu) == [("GET", f"/lists/{account['list']}", 200)]


def test_a_missing_list_is_an_error_naming_its_id(
    emu: ActiveCampaignEmulator,
    connection: acx.Connection,
    account: dict[str, int],
    options: acx.ClientOptions,
) -> None:
    with pytest.raises(acx.NotFoundError) as caught:
        validated(destination_for(connection, 4242), options)
    assert str(caught.value) == (
        "List 4242 does not exist in the ActiveCampaign account at acme.api-us1.com "
        "(destination 'VIP'); check the list ID under Contacts > Lists."
    )
    assert caught.value.status_code == 404


def test_an_unknown_custom_field_is_an_error_naming_it(
    emu: ActiveCampaignEmulator,
    connection: acx.Connection,
    account: dict[str, int],
    options: acx.ClientOptions,
) -> None:
    destination = destination_for(connection, account["list"], LOYALTY_TEIR="Tier", Sizes="S")
    with pytest.raises(acx.FieldMappingError) as caught:
        validated(destination, options)
    message = str(caught.value)
    assert message.startswith(
        "2 custom field references of the mapping could not be resolved against the account's "
        "123 custom fields: 'LOYALTY_TEIR' (attribute 'Tier'): no custom field has this "
        "personalization tag, title or ID (did you mean 'LOYALTY_TIER'?); 'Sizes' (attribute "
        "'S'): no custom field has this personalization tag, title or ID (did you mean 'SIZE'?)"
    )


def test_validate_with_a_bad_key(
    emu: ActiveCampaignEmulator, account: dict[str, int], options: acx.ClientOptions
) -> None:
    connection = acx.Connection("AC", HOST, "wrong-key")
    with pytest.raises(acx.AuthenticationError, match="Settings > Developer"):
        validated(destination_for(connection, account["list"]), options)


def test_validate_over_a_socket(emu: ActiveCampaignEmulator, account: dict[str, int]) -> None:
    with emu.serve() as base_url:
        connection = acx.Connection("Local", base_url, KEY)
        resolved = validated(
            destination_for(connection, account["list"]),
            acx.ClientOptions(retry=FAST, rate_limits=UNLIMITED),
        )
    assert resolved.list_name == "VIP customers"
    assert [f.id for f in resolved.fields] == [account["tier"]]


@pytest.mark.anyio
async def test_avalidate(
    emu: ActiveCampaignEmulator,
    connection: acx.Connection,
    account: dict[str, int],
    options: acx.ClientOptions,
) -> None:
    resolved = await avalidated(destination_for(connection, account["list"], SIZE="Size"), options)
    assert resolved.list_name == "VIP customers"
    assert [f.id for f in resolved.fields] == [account["size"]]
    with pytest.raises(acx.NotFoundError, match="List 4242 does not exist"):
        await avalidated(destination_for(connection, 4242), options)
    with pytest.raises(acx.FieldMappingError, match="'NOPE' \\(attribute 'x'\\)"):
        await avalidated(destination_for(connection, account["list"], NOPE="x"), options)
    async with connection.async_client(options) as client:
        again = await destination_for(connection, account["list"]).avalidate(client)
    assert again.list == resolved.list


# -- consent: nothing that carries profile data is sent without it ---------------------------

PROFILES = [{"Email": "ana@contoso.com", "Tier": "gold"}, {"Email": "bo@contoso.com"}]


def exporter_for(
    destination: acx.ExportDestination,
    emu: ActiveCampaignEmulator,
    *,
    actor: acx.Actor | None = None,
    **options: Any,
) -> acx.Exporter:
    client = destination.connection.client(
        acx.ClientOptions(transport=emu.transport(), retry=FAST, rate_limits=UNLIMITED)
    )
    return acx.Exporter(
        destination,
        client=client,
        actor=actor,
        options=ExportOptions(**options, first_poll_delay=0, poll_interval=0),
    )


@pytest.mark.parametrize(
    ("mode", "dry_run"),
    [
        (acx.ExportMode.UPSERT, False),
        (acx.ExportMode.MIRROR, False),
        (acx.ExportMode.UPSERT, True),
        (acx.ExportMode.MIRROR, True),
    ],
)
def test_no_request_is_sent_without_consent(
    emu: ActiveCampaignEmulator,
    connection: acx.Connection,
    account: dict[str, int],
    mode: acx.ExportMode,
    dry_run: bool,
) -> None:
    destination = acx.ExportDestination(
        connection,
        "VIP",
        account["list"],
        acx.FieldMapping(email="Email", fields={"LOYALTY_TIER": "Tier"}),
        mode=mode,
    )
    with pytest.raises(acx.ConsentRequiredError):
        destination.preflight()
    with pytest.raises(acx.ConsentRequiredError):
        exporter_for(destination, emu, dry_run=dry_run).run(PROFILES)
    assert emu.requests == []


def test_a_revoked_consent_stops_the_destination_moved_onto_it(
    emu: ActiveCampaignEmulator, consented: acx.Connection, account: dict[str, int]
) -> None:
    """The caller holds the revoked connection and moves the destination onto it."""
    destination = destination_for(consented, account["list"])
    destination.preflight(ADMIN)  # consented: allowed
    destination = destination.with_connection(consented.revoke_consent(ADMIN))
    with pytest.raises(acx.ConsentRequiredError, match="revoked"):
        destination.preflight(ADMIN)
    with pytest.raises(acx.ConsentRequiredError, match="revoked"):
        exporter_for(destination, emu).run(PROFILES)
    assert emu.requests == []


def test_a_denied_actor_sends_nothing(
    emu: ActiveCampaignEmulator, consented: acx.Connection, account: dict[str, int]
) -> None:
    destination = destination_for(consented, account["list"])
    with pytest.raises(acx.PermissionDeniedError):
        exporter_for(destination, emu, actor=CONTRIBUTOR).run(PROFILES)
    assert emu.requests == []


def test_with_consent_the_export_does_send(
    emu: ActiveCampaignEmulator, consented: acx.Connection, account: dict[str, int]
) -> None:
    """The positive control: the same export, consented, reaches the emulator."""
    destination = destination_for(consented, account["list"])
    exporter_for(destination, emu).run(PROFILES)
    assert any(r.path.startswith("/import/bulk_import") or r.method == "POST" for r in emu.requests)
    assert set(emu.list_members(account["list"])) == {"ana@contoso.com", "bo@contoso.com"}


@pytest.mark.anyio
async def test_no_request_is_sent_without_consent_async(
    emu: ActiveCampaignEmulator,
    connection: acx.Connection,
    account: dict[str, int],
    options: acx.ClientOptions,
) -> None:
    destination = destination_for(connection, account["list"])
    client = connection.async_client(options)
    async with client:
        with pytest.raises(acx.ConsentRequiredError):
            await acx.AsyncExporter(destination, client=client).run(PROFILES)
    assert emu.requests == []

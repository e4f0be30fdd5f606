"""Connection: construction tables (names, hosts, keys), consent, the export user, editing."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

import ac_segment_export as acx
from ac_segment_export._model import DATA_PRIVACY_TERMS_VERSION

from .conftest import ACCEPTED_AT, ADMIN, CONTRIBUTOR, HOST, KEY

# -- hostnames ----------------------------------------------------------------------------------

GOOD_HOSTS = [
    ("acme.api-us1.com", "acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("ACME.Api-US1.com", "acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("  acme.api-us1.com  ", "acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("acme.api-us1.com.", "acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("https://acme.api-us1.com", "acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("https://acme.api-us1.com/", "acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("https://acme.api-us1.com/api/3", "acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("https://acme.api-us1.com/api/3/", "acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("HTTPS://acme.api-us1.com", "acme.api-us1.com", "https://acme.api-us1.com/api/3/"),
    ("acme.api-us1.com:8443", "acme.api-us1.com:8443", "https://acme.api-us1.com:8443/api/3/"),
    ("bücher.api-us1.com", "xn--bcher-kva.api-us1.com", "https://xn--bcher-kva.api-us1.com/api/3/"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080/api/3/"),
    ("http://localhost:9000/api/3", "http://localhost:9000", "http://localhost:9000/api/3/"),
    ("http://[::1]:8080", "http://[::1]:8080", "http://[::1]:8080/api/3/"),
]


@pytest.mark.parametrize(("given", "host", "base_url"), GOOD_HOSTS)
def test_good_hosts_are_normalised(given: str, host: str, base_url: str) -> None:
    connection = acx.Connection("AC", given, KEY)
    assert connection.host == host
    assert connection.endpoint.base_url == base_url
    # The normalised form is itself accepted and stable.
    assert acx.Connection("AC", connection.host, KEY).host == host


BAD_HOSTS = [
    ("", "it is empty"),
    ("   ", "it is empty"),
    ("acme api-us1.com", "it contains whitespace"),
    ("acme.api-us1.com\t", None),  # trailing whitespace is trimmed -> accepted below
    ("https://acme.api-us1.com/admin", "the path '/admin' is not the API root '/api/3'"),
    ("https://acme.api-us1.com/api/1", "the path '/api/1' is not the API root '/api/3'"),
    ("https://acme.api-us1.com/api/3?x=1", "it has a query string"),
    ("https://acme.api-us1.com/?", "it has a query string"),
    ("https://acme.api-us1.com/#top", "it has a fragment"),
    ("https://user:pw@acme.api-us1.com", "it contains a user name or password"),
    ("acme..api-us1.com", "it has an empty label"),
    (".acme.api-us1.com", "it has an empty label"),
    ("a" * 64 + ".api-us1.com", "is longer than 63 characters"),
    ("acme_co.api-us1.com", "has characters a hostname cannot hold"),
    ("acme.api-us1.com:99999", "it is not a valid URL"),
    ("http://acme.api-us1.com", "plain http is only accepted for loopback hosts"),
    ("ftp://acme.api-us1.com", "the scheme 'ftp' is not https"),
    ("https://", "it has no hostname"),
    ("\udcff.api-us1.com", "cannot be IDNA-encoded"),
    (".".join(["a" * 60] * 5), "the hostname is longer than 253 characters"),
]


@pytest.mark.parametrize(("given", "problem"), [b for b in BAD_HOSTS if b[1] is not None])
def test_bad_hosts_are_refused_saying_what_is_wrong_and_expected(given: str, problem: str) -> None:
    with pytest.raises(acx.ConfigurationError) as caught:
        acx.Connection("AC", given, KEY)
    message = str(caught.value)
    assert message.startswith("Invalid ActiveCampaign host ")
    assert problem in message
    assert "Expected the REST endpoint hostname, like 'acme.api-us1.com'" in message


def test_trailing_whitespace_is_trimmed_not_refused() -> None:
    assert acx.Connection("AC", "acme.api-us1.com\t", KEY).host == HOST


def test_non_string_host_is_refused() -> None:
    with pytest.raises(acx.ConfigurationError, match="host must be a string, not int"):
        acx.Connection("AC", 42, KEY)  # type: ignore[arg-type]


def test_host_errors_never_echo_a_password_or_a_pasted_key() -> None:
    with pytest.raises(acx.ConfigurationError) as caught:
        acx.Connection("AC", "https://bob:hunter2@acme.api-us1.com", KEY)
    assert "hunter2" not in str(caught.value)
    assert "'https://***@acme.api-us1.com'" in str(caught.value)
    assert caught.value.__context__ is None

    with pytest.raises(acx.ConfigurationError) as caught:
        acx.Connection("AC", "bob:hunter2@acme.api-us1.com", KEY)
    assert "hunter2" not in str(caught.value)

    # The key pasted into the host field (a 72-character hex string).
    with pytest.raises(acx.ConfigurationError) as caught:
        acx.Connection("AC", KEY, KEY)
    message = str(caught.value)
    assert "longer than 63 characters" in message
    assert "<hidden: looks like an API key>" in message
    assert KEY[:16] not in message


def test_an_api_endpoint_is_accepted_as_host() -> None:
    endpoint = acx.parse_endpoint("http://127.0.0.1:8080")
    assert acx.Connection("AC", endpoint, KEY).host == "http://127.0.0.1:8080"


# -- display names, keys and other fields -------------------------------------------------------


def test_display_name_is_trimmed_and_kept() -> None:
    assert acx.Connection("  Marketing AC ", HOST, KEY).display_name == "Marketing AC"
    assert len(acx.Connection("x" * 256, HOST, KEY).display_name) == 256


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "The display name is blank; expected a non-blank name."),
        (" \t ", "The display name is blank; expected a non-blank name."),
        ("x" * 257, "The display name is 257 characters long; at most 256 are allowed."),
        (None, "The display name must be a string, not NoneType."),
        (7, "The display name must be a string, not int."),
    ],
)
def test_bad_display_names(name: object, message: str) -> None:
    with pytest.raises(acx.ConfigurationError) as caught:
        acx.Connection(name, HOST, KEY)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "The API key is blank. Copy it from ActiveCampaign's Settings > Developer page."),
        ("   ", "The API key is blank. Copy it from ActiveCampaign's Settings > Developer page."),
        ("abc def", "The API key contains whitespace; copy it again from Settings > Developer."),
        (None, "An API key must be a string, not NoneType."),
        (12345, "An API key must be a string, not int."),
    ],
)
def test_bad_keys(key: object, message: str) -> None:
    with pytest.raises(acx.ConfigurationError) as caught:
        acx.Connection("AC", HOST, key)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize("key", [KEY, f"  {KEY}\n", acx.Secret(KEY)])
def test_good_keys_become_a_secret(key: str | acx.Secret) -> None:
    connection = acx.Connection("AC", HOST, key)
    assert isinstance(connection.api_key, acx.Secret)
    assert connection.api_key.reveal() == KEY


def test_defaults() -> None:
    connection = acx.Connection("AC", HOST, KEY)
    assert connection.usable_by is acx.Audience.ADMINS
    assert connection.consent is None
    assert connection.export_user is None
    assert not connection.has_consent


@pytest.mark.parametrize(
    ("usable_by", "expected"),
    [
        (acx.Audience.ADMINS, acx.Audience.ADMINS),
        ("admins_and_contributors", acx.Audience.ADMINS_AND_CONTRIBUTORS),
    ],
)
def test_usable_by(usable_by: object, expected: acx.Audience) -> None:
    assert acx.Connection("AC", HOST, KEY, usable_by=usable_by).usable_by is expected  # type: ignore[arg-type]


def test_bad_usable_by() -> None:
    with pytest.raises(acx.ConfigurationError) as caught:
        acx.Connection("AC", HOST, KEY, usable_by="everyone")  # type: ignore[arg-type]
    assert str(caught.value) == (
        "usable_by 'everyone' is not an audience; expected Audience.ADMINS, "
        "Audience.ADMINS_AND_CONTRIBUTORS."
    )


def test_consent_must_be_a_consent() -> None:
    with pytest.raises(acx.ConfigurationError, match="consent must be a Consent or None, not dict"):
        acx.Connection("AC", HOST, KEY, consent={"accepted_by": "x"})  # type: ignore[arg-type]


def test_connection_is_frozen(connection: acx.Connection) -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        connection.host = "other.api-us1.com"  # type: ignore[misc]


# -- consent ------------------------------------------------------------------------------------


def test_accepting_the_terms_records_a_utc_consent(connection: acx.Connection) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    consented = connection.accept_data_privacy_terms(accepted_by=" ana@contoso.com ")
    after = dt.datetime.now(dt.timezone.utc)
    assert connection.consent is None  # the original is unchanged
    assert consented.consent is not None
    assert consented.consent.accepted_by == "ana@contoso.com"
    assert consented.consent.terms_version == DATA_PRIVACY_TERMS_VERSION
    assert before <= consented.consent.accepted_at <= after
    assert consented.consent.accepted_at.utcoffset() == dt.timedelta(0)
    assert consented.has_consent
    consented.require_consent()


def test_consent_times_are_stored_in_utc() -> None:
    plus2 = dt.timezone(dt.timedelta(hours=2))
    consent = acx.Consent("ana", dt.datetime(2026, 1, 1, 12, 0, tzinfo=plus2), "v2")
    assert consent.accepted_at == dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.timezone.utc)
    assert consent.accepted_at.tzinfo is dt.timezone.utc


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", ACCEPTED_AT), "The consent's accepted_by is blank; expected a non-blank name."),
        (("ana", ACCEPTED_AT, " "), "The consent's terms_version is blank"),
        (
            ("ana", dt.datetime(2026, 1, 1, 12, 0)),
            "accepted_at '2026-01-01T12:00:00' has no time zone; pass a timezone-aware datetime",
        ),
        (("ana", "2026-01-01"), "accepted_at must be a datetime, not str."),
    ],
)
def test_bad_consents(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(acx.ConfigurationError) as caught:
        acx.Consent(*args)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_missing_consent_is_refused_before_io(connection: acx.Connection) -> None:
    with pytest.raises(acx.ConsentRequiredError) as caught:
        connection.require_consent()
    message = str(caught.value)
    assert "Connection 'Marketing AC' has no data-privacy consent" in message
    assert "to ActiveCampaign (acme.api-us1.com)" in message
    assert "accept_data_privacy_terms(accepted_by=...)" in message
    assert message.endswith("Nothing was sent.")
    assert isinstance(caught.value, acx.PolicyError)


def test_revocation_stops_every_copy(consented: acx.Connection) -> None:
    kept_copy = attrs.evolve(consented)  # e.g. the one an earlier destination holds
    revoked = consented.revoke_consent()
    assert revoked.consent is None
    for connection in (revoked, consented, kept_copy):
        assert not connection.has_consent
        with pytest.raises(acx.ConsentRequiredError):
            connection.require_consent()
    with pytest.raises(acx.ConsentRequiredError) as caught:
        consented.require_consent()
    assert "had its data-privacy consent (given by ana@contoso.com on 2026-11-30) revoked" in str(
        caught.value
    )
    # Consenting again works.
    again = revoked.accept_data_privacy_terms("ana@contoso.com")
    again.require_consent()


def test_revoking_without_consent_is_a_no_op(connection: acx.Connection) -> None:
    assert connection.revoke_consent() == connection


def test_revocation_is_per_host(consented: acx.Connection) -> None:
    """Revoking a consent on one host leaves the same consent given for another host valid."""
    other = attrs.evolve(consented, host="other.api-us1.com")
    assert other.consent == consented.consent
    consented.revoke_consent()
    assert not consented.has_consent
    with pytest.raises(acx.ConsentRequiredError, match="revoked"):
        consented.require_consent()
    assert other.has_consent
    other.require_consent()  # does not raise: the revocation was for the first host only


def test_accepting_as_an_actor(connection: acx.Connection) -> None:
    consented = connection.accept_data_privacy_terms(ADMIN, terms_version="2026-11")
    assert consented.consent is not None
    assert consented.consent.accepted_by == "ana@contoso.com"
    assert consented.consent.terms_version == "2026-11"
    with pytest.raises(acx.PermissionDeniedError) as caught:
        connection.accept_data_privacy_terms(CONTRIBUTOR)
    assert str(caught.value) == (
        "Only admins may accept the data-privacy terms of connection 'Marketing AC'; "
        "carl@contoso.com is a contributor."
    )


def test_only_admins_may_revoke(consented: acx.Connection) -> None:
    with pytest.raises(acx.PermissionDeniedError, match="Only admins may revoke the consent of"):
        consented.revoke_consent(actor=CONTRIBUTOR)
    consented.require_consent()  # the refused revocation changed nothing
    assert consented.revoke_consent(actor=ADMIN).consent is None


# -- the export user ----------------------------------------------------------------------------


def test_export_user(connection: acx.Connection) -> None:
    assert connection.with_export_user(" exports@contoso.com ").export_user == (
        "exports@contoso.com"
    )
    assert connection.with_export_user(ADMIN).export_user == "ana@contoso.com"
    assert connection.with_export_user(ADMIN).with_export_user(None).export_user is None
    assert acx.Connection("AC", HOST, KEY, export_user="me").export_user == "me"
    with pytest.raises(acx.ConfigurationError, match="The export user is blank"):
        connection.with_export_user(" ")
    with pytest.raises(acx.PermissionDeniedError, match="Only admins may change"):
        connection.with_export_user(CONTRIBUTOR, actor=CONTRIBUTOR)


# -- editing ------------------------------------------------------------------------------------


def test_admin_edits_are_validated(consented: acx.Connection) -> None:
    edited = consented.edit(ADMIN, display_name=" Renamed ", usable_by="admins_and_contributors")
    assert edited.display_name == "Renamed"
    assert edited.usable_by is acx.Audience.ADMINS_AND_CONTRIBUTORS
    assert edited.consent == consented.consent
    rotated = consented.edit(ADMIN, api_key="new-key")
    assert rotated.api_key.reveal() == "new-key"
    assert rotated.consent == consented.consent  # a rotated key is the same account
    with pytest.raises(acx.ConfigurationError, match="The display name is blank"):
        consented.edit(ADMIN, display_name="")


def test_changing_the_host_drops_the_consent(consented: acx.Connection) -> None:
    moved = consented.edit(ADMIN, host="https://other.api-us1.com/api/3")
    assert moved.host == "other.api-us1.com"
    assert moved.consent is None
    same = consented.edit(ADMIN, host="https://ACME.api-us1.com/")
    assert same.consent == consented.consent


def test_edit_refuses_unknown_fields_and_consent(consented: acx.Connection) -> None:
    with pytest.raises(acx.ConfigurationError) as caught:
        consented.edit(ADMIN, consent=None)
    assert str(caught.value) == (
        "Cannot edit consent of a connection (use accept_data_privacy_terms() or "
        "revoke_consent()); editable: display_name, host, api_key, usable_by, export_user."
    )
    with pytest.raises(acx.ConfigurationError, match="Cannot edit colour, size of a connection"):
        consented.edit(ADMIN, size=1, colour="red")


def test_actor_validation() -> None:
    assert acx.Actor(" ana ", "admin") == acx.Actor("ana", acx.Role.ADMIN)
    assert acx.Actor.admin("a").is_admin
    assert not acx.Actor.contributor("c").is_admin
    with pytest.raises(acx.ConfigurationError, match="Unknown role 'owner'; expected one of"):
        acx.Actor("ana", "owner")  # type: ignore[arg-type]
    with pytest.raises(acx.ConfigurationError, match="non-blank user identity"):
        acx.Actor("", acx.Role.ADMIN)

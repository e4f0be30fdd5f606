"""Persistence: dict/JSON round trips (hypothesis), key references, transforms, bad data."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ac_segment_export as acx
from ac_segment_export._core import convert
from ac_segment_export._model import _serde

from .conftest import ACCEPTED_AT, HOST, KEY

UPPER = str.upper
TRANSFORMS = {"upper": UPPER, "strip": str.strip}

# -- strategies ---------------------------------------------------------------------------------

names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=40,
)
attribute_names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20
).filter(str.strip)
utc_datetimes = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=-5, minutes=-30))]),
)
consents = st.builds(acx.Consent, names, utc_datetimes, names) | st.builds(
    acx.Consent, names, utc_datetimes, names, revoked_by=names, revoked_at=utc_datetimes
)
hosts = st.sampled_from(
    ["acme.api-us1.com", "ACME.api-us1.com", "https://x.api-us2.com/api/3", "http://127.0.0.1:8080"]
)
keys = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=80)
connections = st.builds(
    acx.Connection,
    names,
    hosts,
    keys,
    usable_by=st.sampled_from(acx.Audience),
    consent=st.none() | consents,
    export_user=st.none() | names,
)
attributes = st.builds(
    acx.Attribute, attribute_names, transform=st.sampled_from([None, UPPER, str.strip])
)
optional_attributes = st.none() | attributes
field_refs = st.integers(min_value=1, max_value=10**6) | names.filter(lambda s: s.strip("% "))
tag_rules = st.one_of(
    st.builds(acx.FlagTag, attributes, names),
    st.builds(acx.ValueTag, attributes, prefix=st.text(max_size=10)),
)


def _unique_refs(pairs: list[tuple[Any, acx.Attribute]]) -> list[tuple[Any, acx.Attribute]]:
    seen, out = set(), []
    for ref, attribute in pairs:
        key = ref if isinstance(ref, int) else ref.strip().strip("%").casefold()
        if key not in seen:
            seen.add(key)
            out.append((ref, attribute))
    return out


mappings = st.builds(
    acx.FieldMapping,
    attributes,
    first_name=optional_attributes,
    last_name=optional_attributes,
    phone=optional_attributes,
    fields=st.lists(st.tuples(field_refs, attributes), max_size=5).map(_unique_refs),
    tags=st.lists(tag_rules, max_size=3),
)
destinations = st.builds(
    acx.ExportDestination,
    connections,
    names,
    st.integers(min_value=1, max_value=2**40),
    mappings,
    tags=st.lists(names, max_size=4),
    run_automations=st.booleans(),
    mode=st.sampled_from(acx.ExportMode),
)


# -- round trips --------------------------------------------------------------------------------


@given(consents)
def test_consent_round_trips_exactly(consent: acx.Consent) -> None:
    conv = convert.converter
    data = conv.unstructure(consent)
    assert data["accepted_at"].endswith("+00:00")
    back = conv.structure(json.loads(json.dumps(data)), acx.Consent)
    assert back == consent
    assert back.accepted_at.tzinfo == dt.timezone.utc
    assert back.accepted_at.isoformat() == consent.accepted_at.isoformat()


@given(connections)
def test_connection_round_trips_with_the_secret_included(connection: acx.Connection) -> None:
    data = connection.to_dict(include_secrets=True)
    assert json.loads(json.dumps(data)) == data  # plain JSON types only
    assert acx.Connection.from_dict(data) == connection
    assert acx.Connection.from_json(connection.to_json(include_secrets=True)) == connection


@given(connections)
def test_connection_round_trips_with_an_env_reference(connection: acx.Connection) -> None:
    data = connection.to_dict(api_key_env="AC_API_KEY")
    assert data["api_key"] == {"env": "AC_API_KEY"}
    environ = {"AC_API_KEY": connection.api_key.reveal()}
    assert acx.Connection.from_dict(data, environ=environ) == connection


@given(connections)
def test_connection_round_trips_with_a_provider(connection: acx.Connection) -> None:
    data = connection.to_dict(api_key_ref="vault://ac/1")
    calls: list[str] = []

    def provider(ref: str) -> str:
        calls.append(ref)
        return connection.api_key.reveal()

    assert acx.Connection.from_dict(data, secret_provider=provider) == connection
    assert calls == ["vault://ac/1"]


@given(mappings)
def test_mapping_round_trips(mapping: acx.FieldMapping) -> None:
    data = _serde.mapping_to_dict(mapping, transforms=TRANSFORMS)
    assert json.loads(json.dumps(data)) == data
    assert _serde.mapping_from_dict(json.loads(json.dumps(data)), transforms=TRANSFORMS) == mapping


@settings(max_examples=50)
@given(destinations)
def test_destination_round_trips(destination: acx.ExportDestination) -> None:
    text = destination.to_json(include_secrets=True, transforms=TRANSFORMS)
    assert acx.ExportDestination.from_json(text, transforms=TRANSFORMS) == destination
    data = destination.to_dict(include_connection=False, transforms=TRANSFORMS)
    assert data["connection"] is None
    back = acx.ExportDestination.from_dict(
        data, connection=destination.connection, transforms=TRANSFORMS
    )
    assert back == destination


@given(tag_rules)
def test_tag_rules_round_trip_with_their_tags(rule: acx.TagRule) -> None:
    """A tag rule is stored as its fields plus a "type" tag naming its class, and read back."""
    mapping = acx.FieldMapping(email="E", tags=[rule])
    data = _serde.mapping_to_dict(mapping, transforms=TRANSFORMS)
    (stored,) = data["tags"]
    assert stored["type"] == {acx.FlagTag: "flag", acx.ValueTag: "value"}[type(rule)]
    back = _serde.mapping_from_dict(json.loads(json.dumps(data)), transforms=TRANSFORMS)
    assert back.tags == (rule,)


@given(tag_rules, st.sampled_from(["flag", "value"]))
def test_the_tag_alone_picks_the_tag_rule_class(rule: acx.TagRule, tag: str) -> None:
    """A rule stored under the other class's tag is refused, never read as the other class."""
    data = _serde.mapping_to_dict(acx.FieldMapping(email="E", tags=[rule]), transforms=TRANSFORMS)
    data["tags"][0]["type"] = tag
    if {"flag": acx.FlagTag, "value": acx.ValueTag}[tag] is type(rule):
        assert _serde.mapping_from_dict(data, transforms=TRANSFORMS).tags == (rule,)
    else:
        with pytest.raises(acx.FieldMappingError, match="A stored tag rule must be"):
            _serde.mapping_from_dict(data, transforms=TRANSFORMS)


def test_per_call_choices_do_not_reach_the_shared_converter(consented: acx.Connection) -> None:
    """include_secrets= and transforms= live in a converter made for the call, then dropped."""
    assert consented.to_dict(include_secrets=True)["api_key"] == {"value": KEY}
    assert convert.converter.unstructure(consented)["api_key"] is None
    with pytest.raises(acx.ConfigurationError, match="without saying where the key comes from"):
        convert.converter.structure(consented.to_dict(include_secrets=True), acx.Connection)
    mapping = acx.FieldMapping(email=acx.Attribute("E", transform=UPPER))
    assert _serde.mapping_to_dict(mapping, transforms=TRANSFORMS)["email"]["transform"] == "upper"
    with pytest.raises(acx.FieldMappingError, match="cannot be serialized"):
        convert.converter.unstructure(mapping)


def test_a_revoked_consent_is_stored_with_the_connection(consented: acx.Connection) -> None:
    """The revocation is part of the stored connection; a consent that holds stores no such keys."""
    at = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)
    revoked = consented.revoke_consent("bo@contoso.com", revoked_at=at)
    data = revoked.to_dict(api_key_env="K")
    assert data["consent"] == {
        "accepted_by": "ana@contoso.com",
        "accepted_at": "2026-11-30T08:15:00.123456+00:00",
        "terms_version": "1",
        "revoked_by": "bo@contoso.com",
        "revoked_at": "2026-12-01T08:00:00+00:00",
    }
    back = acx.Connection.from_dict(data, environ={"K": KEY})
    assert back == revoked
    assert not back.has_consent


@given(st.sampled_from(acx.Audience), st.sampled_from(acx.Role))
def test_actor_and_enums_round_trip(audience: acx.Audience, role: acx.Role) -> None:
    conv = convert.converter
    actor = acx.Actor("ana", role)
    assert conv.structure(conv.unstructure(actor), acx.Actor) == actor
    assert conv.unstructure(audience) == audience.value
    assert type(conv.unstructure(audience)) is str


# -- the stored shapes --------------------------------------------------------------------------


def test_the_stored_connection(consented: acx.Connection) -> None:
    assert consented.to_dict() == {
        "version": 1,
        "display_name": "Marketing AC",
        "host": HOST,
        "api_key": None,
        "usable_by": "admins",
        "consent": {
            "accepted_by": "ana@contoso.com",
            "accepted_at": "2026-11-30T08:15:00.123456+00:00",
            "terms_version": "1",
        },
        "export_user": None,
    }
    assert consented.to_dict(include_secrets=True)["api_key"] == {"value": KEY}


def test_the_stored_destination(consented: acx.Connection) -> None:
    mapping = acx.FieldMapping(
        email="Email",
        first_name=acx.Attribute("First", transform=UPPER),
        fields={"LOYALTY_TIER": "Tier", 12: acx.Attribute("Score", transform=UPPER)},
        tags=[acx.FlagTag("IsVip", "VIP"), acx.ValueTag("Segment", prefix="seg:")],
    )
    destination = acx.ExportDestination(
        consented, "VIP", 7, mapping, tags=["all"], mode=acx.ExportMode.MIRROR
    )
    data = destination.to_dict(include_connection=False, transforms={"upper": UPPER})
    assert data == {
        "version": 1,
        "connection": None,
        "name": "VIP",
        "list_id": 7,
        "mapping": {
            "email": "Email",
            "first_name": {"name": "First", "transform": "upper"},
            "fields": [
                {"field": "LOYALTY_TIER", "attribute": "Tier"},
                {"field": 12, "attribute": {"name": "Score", "transform": "upper"}},
            ],
            "tags": [
                {"type": "flag", "attribute": "IsVip", "tag": "VIP"},
                {"type": "value", "attribute": "Segment", "prefix": "seg:"},
            ],
        },
        "tags": ["all"],
        "run_automations": False,
        "mode": "mirror",
    }


# -- what cannot be stored, and bad stored data --------------------------------------------------


def test_a_transform_without_a_name_cannot_be_stored(connection: acx.Connection) -> None:
    mapping = acx.FieldMapping(email="Email", fields={"TIER": acx.Attribute("Tier", str.lower)})
    destination = acx.ExportDestination(connection, "VIP", 7, mapping)
    with pytest.raises(acx.FieldMappingError) as caught:
        destination.to_dict(transforms={"upper": UPPER})
    assert str(caught.value) == (
        f"The transform {str.lower!r} of attribute 'Tier' cannot be serialized: a callable is "
        "code, not data. Name it with transforms={'my_name': fn} in to_dict(), and pass the same "
        "registry to from_dict()."
    )


def test_a_stored_transform_must_be_supplied_on_load(connection: acx.Connection) -> None:
    mapping = acx.FieldMapping(email="Email", fields={"TIER": acx.Attribute("Tier", UPPER)})
    data = acx.ExportDestination(connection, "VIP", 7, mapping).to_dict(
        transforms={"upper": UPPER}, include_secrets=True
    )
    with pytest.raises(acx.FieldMappingError) as caught:
        acx.ExportDestination.from_dict(data)
    assert str(caught.value) == (
        "Attribute 'Tier' uses transform 'upper', which is not in the transforms= registry "
        "given to from_dict()."
    )


def test_a_custom_mapper_cannot_be_stored(connection: acx.Connection) -> None:
    class Mine:
        def map(self, profile: Any) -> acx.MappedProfile | acx.Rejection:
            return acx.Rejection("never")

    with pytest.raises(acx.FieldMappingError, match="uses a custom FieldMapper \\(Mine\\)"):
        acx.ExportDestination(connection, "VIP", 7, Mine()).to_dict()


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (
            {"api_key": None},
            {},
            "The stored connection carries no API key (it was saved without one); pass api_key= "
            "to from_dict(), or save it with api_key_env= or api_key_ref=.",
        ),
        (
            {"api_key": {"env": "NOT_SET_ANYWHERE"}},
            {"environ": {}},
            "The environment variable 'NOT_SET_ANYWHERE', which should hold the connection's API "
            "key, is not set.",
        ),
        (
            {"api_key": {"ref": "vault://x"}},
            {},
            "The connection's API key is stored as reference 'vault://x'; pass secret_provider= "
            "(a callable taking the reference, returning the key).",
        ),
        (
            {"api_key": {"password": "x"}},
            {},
            "Unknown api_key entry 'password'; expected 'env', 'ref' or 'value'.",
        ),
        (
            {"api_key": "plain"},
            {},
            "The stored api_key must be null, {'env': NAME}, {'ref': REF} or {'value': KEY}, not "
            "an entry with keys (a str).",
        ),
        ({"version": 2}, {}, "The stored connection has version 2; this library reads 1."),
        ({"host": "http://acme.api-us1.com"}, {"api_key": KEY}, "plain http is only accepted"),
        ({"usable_by": "all"}, {"api_key": KEY}, "usable_by 'all' is not an audience"),
        (
            {"consent": {"accepted_by": "a", "accepted_at": "yesterday", "terms_version": "1"}},
            {"api_key": KEY},
            "'yesterday' is not an ISO 8601 timestamp",
        ),
        (
            {"consent": {"accepted_by": "a", "accepted_at": "2026-01-01T00:00:00"}},
            {"api_key": KEY},
            "accepted_at '2026-01-01T00:00:00' has no time zone",
        ),
        ({"colour": "red"}, {"api_key": KEY}, "Cannot load the stored connection: "),
    ],
)
def test_bad_stored_connections(
    consented: acx.Connection, change: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    data = {**consented.to_dict(), **change}
    with pytest.raises(acx.ConfigurationError) as caught:
        acx.Connection.from_dict(data, **kwargs)
    assert str(caught.value).startswith(message) or message in str(caught.value)


def test_an_explicit_key_overrides_the_stored_one(consented: acx.Connection) -> None:
    data = consented.to_dict(include_secrets=True)
    assert acx.Connection.from_dict(data, api_key="rotated").api_key.reveal() == "rotated"


def test_a_failing_provider_is_reported_without_its_message(consented: acx.Connection) -> None:
    def provider(ref: str) -> str:
        msg = f"vault said: the secret is {KEY}"
        raise RuntimeError(msg)

    with pytest.raises(acx.ConfigurationError) as caught:
        acx.Connection.from_dict(consented.to_dict(api_key_ref="r"), secret_provider=provider)
    assert str(caught.value) == "The secret provider failed for reference 'r' (RuntimeError)."
    assert KEY not in str(caught.value)


def test_conflicting_key_options_are_refused(consented: acx.Connection) -> None:
    with pytest.raises(acx.ConfigurationError, match="Pass at most one of"):
        consented.to_dict(include_secrets=True, api_key_env="X")
    with pytest.raises(acx.ConfigurationError, match="api_key_env must name an environment"):
        consented.to_dict(api_key_env=" ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[]", "The stored destination must be a JSON object, not list."),
        ("{", "The stored destination is not valid JSON"),
        (
            '{"name": "x"}',
            "Cannot load the stored destination: missing keys ['list_id', 'mapping'].",
        ),
        (
            '{"name": "x", "list_id": 7, "mapping": {"email": "E"}, "extra": 1}',
            "Cannot load the stored destination: unknown keys ['extra'].",
        ),
        (
            '{"name": "x", "list_id": 7, "mapping": {"email": "E"}}',
            "The stored destination has no connection (it was saved with "
            "include_connection=False); pass connection= to from_dict().",
        ),
        (
            '{"name": "x", "list_id": 0, "mapping": {"email": "E"}, "connection": null}',
            "The stored destination has no connection",
        ),
        (
            '{"name": "x", "list_id": 7, "mapping": {"first_name": "F"}, "connection": null}',
            "Cannot load the stored mapping: ",
        ),
    ],
)
def test_bad_stored_destinations(data: str, message: str) -> None:
    with pytest.raises(acx.ConfigurationError) as caught:
        acx.ExportDestination.from_json(data)
    assert str(caught.value).startswith(message)


def test_bad_values_in_a_stored_destination_get_the_constructors_messages(
    connection: acx.Connection,
) -> None:
    data = acx.ExportDestination(connection, "VIP", 7, acx.FieldMapping(email="E")).to_dict(
        include_connection=False
    )
    with pytest.raises(acx.ConfigurationError, match="list_id 0 is not a list ID"):
        acx.ExportDestination.from_dict({**data, "list_id": 0}, connection=connection)
    with pytest.raises(acx.FieldMappingError, match="The mapping has no Email"):
        acx.ExportDestination.from_dict({**data, "mapping": {"email": ""}}, connection=connection)
    with pytest.raises(acx.FieldMappingError, match="A stored tag rule must be"):
        acx.ExportDestination.from_dict(
            {**data, "mapping": {"email": "E", "tags": [{"type": "flag", "tag": "x"}]}},
            connection=connection,
        )


def test_consent_round_trips_through_json_exactly(consented: acx.Connection) -> None:
    back = acx.Connection.from_json(consented.to_json(api_key_env="K"), environ={"K": KEY})
    assert back.consent == consented.consent
    assert back.consent is not None
    assert back.consent.accepted_at == ACCEPTED_AT
    assert back.consent.accepted_at.microsecond == 123456

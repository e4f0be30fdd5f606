"""ExportDestination: construction tables, options, creation with permissions, pure resolution."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

import ac_segment_export as acx

from .conftest import ADMIN, CONTRIBUTOR

MAPPING = acx.FieldMapping(email="Email", fields={"TIER": "Tier"})
ACCOUNT = [acx.CustomField(3, "Tier", perstag="TIER")]


def test_defaults(connection: acx.Connection) -> None:
    destination = acx.ExportDestination(connection, " VIP customers ", 7, MAPPING)
    assert destination.name == "VIP customers"
    assert destination.list_id == 7
    assert destination.tags == ()
    assert destination.run_automations is False  # off by default for bulk exports
    assert destination.mode is acx.ExportMode.UPSERT


def test_options(connection: acx.Connection) -> None:
    destination = acx.ExportDestination(
        connection,
        "VIP",
        "12",
        MAPPING,
        tags=[" vip ", "spring", "vip"],
        run_automations=True,
        mode="mirror",  # type: ignore[arg-type]
    )
    assert destination.list_id == 12
    assert destination.tags == ("vip", "spring")
    assert destination.run_automations is True
    assert destination.mode is acx.ExportMode.MIRROR


LIST_ID_MESSAGE = (
    "is not a list ID; expected a positive integer (the ID shown in the list's URL in "
    "ActiveCampaign, e.g. 7)."
)


@pytest.mark.parametrize("list_id", [1, 7, 2**31, "7", " 42 "])
def test_good_list_ids(connection: acx.Connection, list_id: object) -> None:
    destination = acx.ExportDestination(connection, "VIP", list_id, MAPPING)  # type: ignore[arg-type]
    assert destination.list_id == int(str(list_id).strip())


@pytest.mark.parametrize("list_id", [0, -1, True, False, 1.0, 7.5, "", "seven", "-3", "٣", None])
def test_bad_list_ids(connection: acx.Connection, list_id: object) -> None:
    with pytest.raises(acx.ConfigurationError) as caught:
        acx.ExportDestination(connection, "VIP", list_id, MAPPING)  # type: ignore[arg-type]
    assert str(caught.value) == f"list_id {list_id!r} {LIST_ID_MESSAGE}"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"name": ""},
            acx.ConfigurationError,
            "The destination name is blank; expected a non-blank name like 'VIP customers'.",
        ),
        (
            {"name": "x" * 257},
            acx.ConfigurationError,
            "The destination name is 257 characters long; at most 256 allowed.",
        ),
        (
            {"name": 3},
            acx.ConfigurationError,
            "The destination name must be a string, not int.",
        ),
        (
            {"connection": "acme.api-us1.com"},
            acx.ConfigurationError,
            "connection must be a Connection, not str.",
        ),
        (
            {"mapping": {"email": "Email"}},
            acx.FieldMappingError,
            "mapping must be a FieldMapping (or your own FieldMapper), not dict.",
        ),
        (
            {"tags": "vip"},
            acx.ConfigurationError,
            "tags must be a sequence of tag names, not 'vip'.",
        ),
        (
            {"tags": ["vip", " "]},
            acx.ConfigurationError,
            "Tag ' ' is not a tag name; expected non-blank strings.",
        ),
        (
            {"tags": ["x" * 256]},
            acx.ConfigurationError,
            "Tag 'xxxxxxxxxxxxxxxxxxxx'... is longer than 255 characters.",
        ),
        (
            {"run_automations": "no"},
            acx.ConfigurationError,
            "run_automations must be True or False, not 'no'.",
        ),
        (
            {"mode": "replace"},
            acx.ConfigurationError,
            "mode 'replace' is not an export mode; expected upsert or mirror.",
        ),
    ],
)
def test_bad_destinations(
    connection: acx.Connection, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {
        "connection": connection,
        "name": "VIP",
        "list_id": 7,
        "mapping": MAPPING,
        **kwargs,
    }
    with pytest.raises(error) as caught:
        acx.ExportDestination(**arguments)
    assert str(caught.value) == message


def test_create_checks_the_actor(connection: acx.Connection) -> None:
    destination = acx.ExportDestination.create(ADMIN, connection, "VIP", 7, MAPPING, tags=["a"])
    assert destination == acx.ExportDestination(connection, "VIP", 7, MAPPING, tags=["a"])
    with pytest.raises(acx.PermissionDeniedError):
        acx.ExportDestination.create(CONTRIBUTOR, connection, "VIP", 7, MAPPING)
    opened = attrs.evolve(connection, usable_by=acx.Audience.ADMINS_AND_CONTRIBUTORS)
    assert acx.ExportDestination.create(CONTRIBUTOR, opened, "VIP", 7, MAPPING).connection == (
        opened
    )


def test_resolve_without_io(connection: acx.Connection) -> None:
    destination = acx.ExportDestination(connection, "VIP", 7, MAPPING, tags=["all"])
    resolved = destination.resolve(acx.MailingList(7, "VIP customers"), ACCOUNT)
    assert resolved.list_id == 7
    assert resolved.list_name == "VIP customers"
    assert resolved.fields == (ACCOUNT[0],)
    assert resolved.tags == ("all",)
    assert resolved.connection is connection
    assert resolved.mapper.map({"Email": "a@b.co", "Tier": "gold"}) == acx.MappedProfile(
        "a@b.co", fields=(acx.FieldValueInput(3, "gold"),)
    )
    with pytest.raises(acx.ConfigurationError, match="List 8 is not this destination's list 7"):
        destination.resolve(acx.MailingList(8, "Other"), ACCOUNT)


class UpperMapper:
    """A user's own mapper."""

    def map(self, profile: Any) -> acx.MappedProfile | acx.Rejection:
        email = profile.get("mail")
        if not email:
            return acx.Rejection("no mail", "email")
        return acx.MappedProfile(str(email).upper())


def test_a_custom_mapper_is_accepted_and_used_as_is(connection: acx.Connection) -> None:
    mapper = UpperMapper()
    destination = acx.ExportDestination(connection, "VIP", 7, mapper)
    resolved = destination.resolve(acx.MailingList(7, "VIP"))
    assert resolved.mapper is mapper
    assert resolved.fields == ()
    assert resolved.mapper.map({"mail": "a@b.co"}) == acx.MappedProfile("A@B.CO")

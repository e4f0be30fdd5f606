"""The permission matrix: admin/contributor x allowed/not allowed x use/read key/edit/remove."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import ac_segment_export as acx

from .conftest import ADMIN, CONTRIBUTOR, HOST, KEY

MAPPING = acx.FieldMapping(email="Email")


def _use(connection: acx.Connection, actor: acx.Actor) -> object:
    connection.check_use(actor)
    return "used"


def _create_destination(connection: acx.Connection, actor: acx.Actor) -> object:
    return acx.ExportDestination.create(actor, connection, "VIP", 7, MAPPING)


def _run_check(connection: acx.Connection, actor: acx.Actor) -> object:
    destination = acx.ExportDestination(connection, "VIP", 7, MAPPING)
    destination.check_use(actor)
    return "runnable"


def _read_key(connection: acx.Connection, actor: acx.Actor) -> object:
    return connection.api_key_for(actor).reveal()


def _edit(connection: acx.Connection, actor: acx.Actor) -> object:
    return connection.edit(actor, display_name="Renamed").display_name


def _remove(connection: acx.Connection, actor: acx.Actor) -> object:
    connection.check_remove(actor)
    return "removable"


Action = Callable[[acx.Connection, acx.Actor], object]
ALLOWED = "allowed"

# (role, usable_by, action) -> what happens
MATRIX: list[tuple[acx.Actor, acx.Audience, Action, str]] = []
for _audience in acx.Audience:
    _open = _audience is acx.Audience.ADMINS_AND_CONTRIBUTORS
    MATRIX += [
        (ADMIN, _audience, _use, ALLOWED),
        (ADMIN, _audience, _create_destination, ALLOWED),
        (ADMIN, _audience, _run_check, ALLOWED),
        (ADMIN, _audience, _read_key, ALLOWED),
        (ADMIN, _audience, _edit, ALLOWED),
        (ADMIN, _audience, _remove, ALLOWED),
        (CONTRIBUTOR, _audience, _use, ALLOWED if _open else "usable by admins only"),
        (
            CONTRIBUTOR,
            _audience,
            _create_destination,
            ALLOWED if _open else "usable by admins only",
        ),
        (CONTRIBUTOR, _audience, _run_check, ALLOWED if _open else "usable by admins only"),
        (CONTRIBUTOR, _audience, _read_key, "Only admins may read the API key of"),
        (CONTRIBUTOR, _audience, _edit, "Only admins may change"),
        (CONTRIBUTOR, _audience, _remove, "Only admins may remove"),
    ]


@pytest.mark.parametrize(
    ("actor", "audience", "action", "outcome"),
    MATRIX,
    ids=[f"{a.role.value}-{u.value}-{f.__name__.strip('_')}" for a, u, f, _ in MATRIX],
)
def test_permission_matrix(
    actor: acx.Actor, audience: acx.Audience, action: Action, outcome: str
) -> None:
    connection = acx.Connection("Marketing AC", HOST, KEY, usable_by=audience)
    if outcome == ALLOWED:
        result = action(connection, actor)
        assert result is not None
        if action is _read_key:
            assert result == KEY
        if action is _edit:
            assert result == "Renamed"
        if action is _create_destination:
            assert isinstance(result, acx.ExportDestination)
            assert result.connection == connection
    else:
        with pytest.raises(acx.PermissionDeniedError) as caught:
            action(connection, actor)
        assert outcome in str(caught.value)
        assert "carl@contoso.com" in str(caught.value)
        assert KEY not in str(caught.value)


def test_denied_use_says_how_to_allow_it() -> None:
    connection = acx.Connection("Marketing AC", HOST, KEY)
    with pytest.raises(acx.PermissionDeniedError) as caught:
        connection.check_use(CONTRIBUTOR)
    assert str(caught.value) == (
        "carl@contoso.com is a contributor and connection 'Marketing AC' is usable by admins "
        "only; an admin can open it to contributors with "
        "usable_by=Audience.ADMINS_AND_CONTRIBUTORS."
    )


def test_preflight_checks_the_actor_before_consent() -> None:
    connection = acx.Connection("Marketing AC", HOST, KEY).accept_data_privacy_terms("ana")
    destination = acx.ExportDestination(connection, "VIP", 7, MAPPING)
    destination.preflight(ADMIN)
    with pytest.raises(acx.PermissionDeniedError):
        destination.preflight(CONTRIBUTOR)
    opened = destination.with_connection(
        connection.edit(ADMIN, usable_by=acx.Audience.ADMINS_AND_CONTRIBUTORS)
    )
    opened.preflight(CONTRIBUTOR)


def test_a_non_actor_is_a_configuration_error() -> None:
    connection = acx.Connection("Marketing AC", HOST, KEY)
    with pytest.raises(acx.ConfigurationError, match="Expected an Actor"):
        connection.check_use("ana")  # type: ignore[arg-type]
    with pytest.raises(acx.ConfigurationError, match="Expected an Actor"):
        connection.api_key_for(None)  # type: ignore[arg-type]

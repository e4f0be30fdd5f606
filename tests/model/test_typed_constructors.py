"""The public constructors' parameter types: mypy refuses the mistakes users make.

Before, ``Connection``'s and ``FieldMapping``'s parameters were typed ``object`` (the types
of their attrs converters), so ``mypy --strict`` passed ``Connection(display_name=1, host=2,
api_key=3)`` and ``FieldMapping(email=42)``. This runs mypy on such a snippet, against the
installed package, and checks each error it must report; the run-time checks stay for
callers without type checking.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

import ac_segment_export as acx

SNIPPET = textwrap.dedent(
    """\
    import datetime as dt
    import ac_segment_export as acx

    acx.Connection(display_name=1, host=2, api_key=3)
    acx.FieldMapping(email=42)
    acx.FieldMapping(email="Email", phone=7, fields={"TIER": 3})
    acx.Consent("ana", "2026-01-01")
    acx.Actor("ana", "owner")
    mapping = acx.FieldMapping(email="Email")
    conn = acx.Connection("AC", "acme.api-us1.com", "k", usable_by="everyone")
    acx.ExportDestination(conn, "VIP", 7.5, mapping, mode="merge")
    ok = acx.Connection("AC", "acme.api-us1.com", acx.Secret("k"), export_user="ana")
    reveal_type(ok.api_key)
    """
)

EXPECTED = [
    (4, 'Argument "display_name" to "Connection" has incompatible type "int"; expected "str"'),
    (
        4,
        'Argument "host" to "Connection" has incompatible type "int"; expected "str | ApiEndpoint"',
    ),
    (4, 'Argument "api_key" to "Connection" has incompatible type "int"; expected "str | Secret"'),
    (
        5,
        'Argument "email" to "FieldMapping" has incompatible type "int"; '
        'expected "str | Attribute"',
    ),
    (6, 'Argument "phone" to "FieldMapping" has incompatible type "int"'),
    (6, 'Dict entry 0 has incompatible type "str": "int"'),
    (7, 'Argument 2 to "Consent" has incompatible type "str"; expected "datetime"'),
    (8, 'Argument 2 to "Actor" has incompatible type "Literal[\'owner\']"'),
    (10, 'Argument "usable_by" to "Connection" has incompatible type "Literal[\'everyone\']"'),
    (11, 'Argument 3 to "ExportDestination" has incompatible type "float"; expected "int | str"'),
    (11, 'Argument "mode" to "ExportDestination" has incompatible type "Literal[\'merge\']"'),
]


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, str]]:
    tmp = tmp_path_factory.mktemp("mypy")
    snippet = tmp / "mistakes.py"
    snippet.write_text(SNIPPET)
    config = tmp / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n")
    cwd = Path.cwd()
    os.chdir(tmp)  # away from the project's own mypy configuration
    try:
        stdout, stderr, _ = mypy_api.run(
            [
                "--config-file",
                str(config),
                "--cache-dir",
                str(tmp / "cache"),
                "--no-error-summary",
                "--hide-error-context",
                "--no-pretty",
                str(snippet),
            ]
        )
    finally:
        os.chdir(cwd)
    assert not stderr, stderr
    found = []
    for line in stdout.splitlines():
        match = re.match(r".*mistakes\.py:(\d+): (?:error|note): (.*)", line)
        if match:
            found.append((int(match.group(1)), match.group(2)))
    return found


@pytest.mark.parametrize(("line", "message"), EXPECTED)
def test_mypy_reports_the_mistake(
    mypy_output: list[tuple[int, str]], line: int, message: str
) -> None:
    """Each wrong argument is an ``arg-type`` (or ``dict-item``) error on its own line."""
    assert any(n == line and message in text for n, text in mypy_output), mypy_output


def test_only_the_mistakes_are_errors(mypy_output: list[tuple[int, str]]) -> None:
    """Right arguments pass: no error on lines 1-3, 9 or 12; the key is a Secret."""
    lines = {n for n, text in mypy_output if not text.startswith("Revealed type")}
    assert lines == {n for n, _ in EXPECTED}
    assert (13, 'Revealed type is "ac_segment_export._core.secrets.Secret"') in mypy_output


@pytest.mark.parametrize(
    "build",
    [
        lambda: acx.Connection(display_name=1, host="acme.api-us1.com", api_key="k"),  # type: ignore[arg-type]
        lambda: acx.Connection(display_name="AC", host=2, api_key="k"),  # type: ignore[arg-type]
        lambda: acx.Connection(display_name="AC", host="acme.api-us1.com", api_key=3),  # type: ignore[arg-type]
        lambda: acx.Consent("ana", "2026-01-01"),  # type: ignore[arg-type]
        lambda: acx.Actor("ana", "owner"),  # type: ignore[arg-type]
        lambda: acx.Connection("AC", "acme.api-us1.com", "k", usable_by="everyone"),  # type: ignore[arg-type]
    ],
)
def test_an_untyped_caller_still_gets_a_configuration_error(build: object) -> None:
    """The run-time checks stay: a caller without a type checker gets a clear error."""
    assert callable(build)
    with pytest.raises(acx.ConfigurationError):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: acx.FieldMapping(email=42),  # type: ignore[arg-type]
        lambda: acx.FieldMapping(email="Email", fields={"TIER": 3}),  # type: ignore[dict-item]
        lambda: acx.FlagTag("IsVip", tag=1),  # type: ignore[arg-type]
    ],
)
def test_an_untyped_caller_still_gets_a_mapping_error(build: object) -> None:
    """Mapping mistakes are a FieldMappingError at run time, as before."""
    assert callable(build)
    with pytest.raises(acx.FieldMappingError):
        build()


def test_the_typed_forms_are_accepted_at_run_time() -> None:
    """What the types allow, the constructors take: enums or their values, Secret or str."""
    conn = acx.Connection(
        "AC",
        acx.parse_endpoint("https://acme.api-us1.com/api/3"),
        acx.Secret("k"),
        usable_by="admins_and_contributors",
        export_user=acx.Actor.admin("ana@contoso.com"),
    )
    assert conn.usable_by is acx.Audience.ADMINS_AND_CONTRIBUTORS
    assert conn.export_user == "ana@contoso.com"
    assert acx.Actor("ana", "contributor").role is acx.Role.CONTRIBUTOR
    consent = acx.Consent("ana", dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    assert consent.accepted_at.tzinfo is dt.timezone.utc
    mapping = acx.FieldMapping(email="Email", fields={"TIER": "Tier", 12: acx.Attribute("B")})
    dest = acx.ExportDestination(conn, "VIP", "7", mapping, mode="mirror")
    assert (dest.list_id, dest.mode) == (7, acx.ExportMode.MIRROR)

"""Public constructors have real parameter types: a wrong argument fails type checking.

Type-checked by ``mypy --strict`` (never run). Every ``# type: ignore[<code>]`` below marks a
mistake that mypy must report with that code: with ``warn_unused_ignores`` (on under
``--strict``), an ignore whose error went away is itself an error, so these lines fail the
check the day a parameter goes back to ``object``. ``tests/model/test_typed_constructors.py``
runs mypy on such mistakes and checks the messages too.
"""

from __future__ import annotations

import datetime as dt

from typing_extensions import assert_type

import ac_segment_export as acx


def right() -> None:
    conn = acx.Connection(display_name="Marketing AC", host="acme.api-us1.com", api_key="k")
    assert_type(conn.display_name, str)
    assert_type(conn.host, str)
    assert_type(conn.api_key, acx.Secret)
    assert_type(conn.usable_by, acx.Audience)
    assert_type(conn.export_user, str | None)
    acx.Connection(
        "AC",
        acx.parse_endpoint("acme.api-us1.com"),
        acx.Secret("k"),
        usable_by="admins_and_contributors",
        export_user=acx.Actor.admin("ana@contoso.com"),
    )
    consent = acx.Consent("ana@contoso.com", dt.datetime.now(dt.timezone.utc))
    assert_type(consent.accepted_at, dt.datetime)
    actor = acx.Actor("ana@contoso.com", "admin")
    assert_type(actor.role, acx.Role)
    mapping = acx.FieldMapping(
        email="Email",
        first_name=acx.Attribute("First", transform=str.title),
        fields={"LOYALTY_TIER": "Tier", 12: acx.Attribute("Birthday")},
        tags=[acx.FlagTag("IsVip", "VIP"), acx.ValueTag("Segment", prefix="seg:")],
    )
    assert_type(mapping.email, acx.Attribute)
    assert_type(mapping.first_name, acx.Attribute | None)
    assert_type(mapping.tags, tuple[acx.FlagTag | acx.ValueTag, ...])
    acx.FieldMapping(email="Email", fields=[("TIER", "Tier")], tags=acx.FlagTag("V", "VIP"))
    dest = acx.ExportDestination(conn, "VIP", 7, mapping, tags=["vip"], mode="mirror")
    assert_type(dest.list_id, int)
    assert_type(dest.mode, acx.ExportMode)


def wrong() -> None:
    acx.Connection(display_name=1, host="h", api_key="k")  # type: ignore[arg-type]
    acx.Connection(display_name="AC", host=2, api_key="k")  # type: ignore[arg-type]
    acx.Connection(display_name="AC", host="h", api_key=3)  # type: ignore[arg-type]
    acx.Connection("AC", "h", "k", usable_by="everyone")  # type: ignore[arg-type]
    acx.Connection("AC", "h", "k", export_user=5)  # type: ignore[arg-type]
    acx.Consent("ana", "2026-01-01")  # type: ignore[arg-type]
    acx.Actor("ana", "owner")  # type: ignore[arg-type]
    acx.Actor(7, "admin")  # type: ignore[arg-type]
    acx.FieldMapping(email=42)  # type: ignore[arg-type]
    acx.FieldMapping(email="Email", first_name=1)  # type: ignore[arg-type]
    acx.FieldMapping(email="Email", fields={"TIER": 3})  # type: ignore[dict-item]
    acx.FieldMapping(email="Email", tags=["VIP"])  # type: ignore[list-item]
    acx.Attribute(3)  # type: ignore[arg-type]
    acx.FlagTag("IsVip", tag=1)  # type: ignore[arg-type]
    acx.ValueTag("Segment", prefix=None)  # type: ignore[arg-type]
    conn = acx.Connection("AC", "h", "k")
    mapping = acx.FieldMapping(email="Email")
    acx.ExportDestination(conn, 5, 7, mapping)  # type: ignore[arg-type]
    acx.ExportDestination(conn, "VIP", 7.5, mapping)  # type: ignore[arg-type]
    acx.ExportDestination(conn, "VIP", 7, mapping, mode="merge")  # type: ignore[arg-type]
    acx.ExportDestination(conn, "VIP", 7, mapping, run_automations="no")  # type: ignore[arg-type]
    acx.ExportDestination(conn, "VIP", 7, mapping, tags=[1])  # type: ignore[list-item]

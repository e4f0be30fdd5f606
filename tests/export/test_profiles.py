"""The profile reader on its own: what a profile maps to, or why it cannot go."""

from __future__ import annotations

from typing import Any

import ac_segment_export as acx
from ac_segment_export._export._profiles import ProfileReader, Refusal, Refused, unencodable

MAPPER = acx.FieldMapping(email="email", first_name="first", phone="phone").resolve([])


def test_a_good_profile_maps_to_its_email_key_and_values() -> None:
    reader = ProfileReader(MAPPER, tags=("vip",))
    email, key, mapped = reader.read({"email": " Ana@Example.COM ", "first": "Ana"})  # type: ignore[misc]
    assert (email, key) == ("Ana@example.com", "ana@example.com")
    assert reader.values(mapped) == ("Ana", None, None, ("vip",), ())


def test_refusals_say_why_and_keep_the_email_for_mirror() -> None:
    reader = ProfileReader(MAPPER)
    assert reader.read(["not", "a", "mapping"]) == Refused("a profile must be a mapping, not list")
    bad = reader.read({"email": "no-at-sign"})
    assert isinstance(bad, Refused)
    assert (bad.field, bad.email, bad.raw) == ("email", "no-at-sign", "no-at-sign")

    class Raising:
        def map(self, profile: Any) -> Any:
            raise ValueError("boom")

        def email_of(self, profile: Any) -> str:
            return str(profile["email"])

    raised = ProfileReader(Raising()).read({"email": "a@x.io"})  # type: ignore[arg-type]
    assert raised == Refused("the mapper raised ValueError: boom", email="a@x.io", raw="a@x.io")


def test_a_profile_rejected_for_another_value_keeps_its_valid_email() -> None:
    """A bad field value rejects the profile, and its outcome still names its (valid) email.

    Before, such a rejection's email was ``None``: a report could not say whose profile it
    was. An invalid email is reported as read; no email readable, ``None``.
    """
    mapper = acx.FieldMapping(email="email", phone="phone").resolve([])
    reader = ProfileReader(mapper)
    bad = reader.read({"email": "  Ana@Example.ORG ", "phone": {"x": 1}})
    assert isinstance(bad, Refused)
    assert (bad.field, bad.email, bad.raw) == ("phone", "Ana@example.org", "  Ana@Example.ORG ")
    worse = reader.read({"email": "not-an-email", "phone": {"x": 1}})
    assert isinstance(worse, Refused)
    assert (worse.field, worse.email) == ("phone", None)
    missing = reader.read({"phone": "1"})
    assert isinstance(missing, Refused)
    assert (missing.field, missing.email) == ("email", None)


def test_value_checks_name_the_field() -> None:
    reader = ProfileReader(MAPPER, phone_e164=True, default_country_code="GB")
    mapped = MAPPER.map({"email": "a@x.io", "first": "A" * 300})
    assert reader.values(mapped) == Refusal(
        "first name is longer than 255 characters", "first_name"
    )
    phone = MAPPER.map({"email": "a@x.io", "phone": "020 7946 0958"})
    assert reader.values(phone)[2] == "+442079460958"


def test_an_unencodable_value_is_named_without_its_content() -> None:
    mapped = MAPPER.map({"email": "a@x.io", "first": "Ana\ud800"})
    reason, field = unencodable(mapped, UnicodeEncodeError("utf-8", "x", 0, 1, "surrogate"))
    assert field == "first_name"
    assert "Ana" not in reason

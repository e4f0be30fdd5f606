"""check_email: which addresses are exported, how they are normalised, and the reasons."""

from __future__ import annotations

import pytest

from ac_segment_export._export._validate import check_email


@pytest.mark.parametrize(
    ("raw", "email", "key"),
    [
        ("ana@example.com", "ana@example.com", "ana@example.com"),
        # The domain is lower-cased; the local part keeps its case, the key folds it.
        ("Ana.Lopez@Example.COM", "Ana.Lopez@example.com", "ana.lopez@example.com"),
        ("  ana@example.com\t\n", "ana@example.com", "ana@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk", None),
        ("a!#$%&*+/=?^_`{|}~-@example.org", "a!#$%&*+/=?^_`{|}~-@example.org", None),
        ("x@a-b.example", "x@a-b.example", None),
        ("x@example.museum", "x@example.museum", None),
        ("1234@123.example.com", "1234@123.example.com", None),
        ("a" * 64 + "@example.com", "a" * 64 + "@example.com", None),
    ],
)
def test_accepted_addresses_and_their_normal_form(raw: str, email: str, key: str | None) -> None:
    """A valid address is trimmed with its domain lower-cased; the key is all lower-case."""
    assert check_email(raw) == (email, key or email.lower())


def test_the_longest_accepted_address_is_254_characters() -> None:
    """254 characters pass; one more is refused for its length."""
    domain = ".".join(["d" * 60] * 4) + ".com"  # 247 characters
    email = "a" * (254 - len(domain) - 1) + "@" + domain
    assert len(email) == 254
    assert check_email(email) == (email, email)
    assert check_email("a" + email) == "email is longer than 254 characters"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "email is missing"),
        (42, "email must be text, not int"),
        (b"a@example.com", "email must be text, not bytes"),
        ("", "email is empty"),
        ("   ", "email is empty"),
        ("a" * 65 + "@example.com", "email's local part is longer than 64 characters"),
        (
            "anaexample.com",
            "email 'anaexample.com' is not a valid address (it must contain exactly one @)",
        ),
        (
            "a@b@example.com",
            "email 'a@b@example.com' is not a valid address (it must contain exactly one @)",
        ),
        (
            "ana lopez@example.com",
            "email 'ana lopez@example.com' is not a valid address (it contains whitespace)",
        ),
        (
            "anä@example.com",
            "email 'anä@example.com' is not a valid address (only ASCII addresses are accepted)",
        ),
        (
            "o'brien@example.com",
            'email "o\'brien@example.com" is not a valid address'
            " (ActiveCampaign's importer refuses apostrophes)",
        ),
        (
            "ana@localhost",
            "email 'ana@localhost' is not a valid address (the domain has no top-level domain)",
        ),
        (
            "ana..lopez@example.com",
            "email 'ana..lopez@example.com' is not a valid address (misplaced dots)",
        ),
        (".ana@example.com", "email '.ana@example.com' is not a valid address (misplaced dots)"),
        ("ana.@example.com", "email 'ana.@example.com' is not a valid address (misplaced dots)"),
        ("ana@example..com", "email 'ana@example..com' is not a valid address (misplaced dots)"),
        ("ana@-example.com", "email 'ana@-example.com' is not a valid address"),
        ("ana@example.c", "email 'ana@example.c' is not a valid address"),
        ("ana@example.123", "email 'ana@example.123' is not a valid address"),
        ("@example.com", "email '@example.com' is not a valid address"),
        (
            "ana@",
            "email 'ana@' is not a valid address (the domain has no top-level domain)",
        ),
    ],
)
def test_refused_addresses_and_their_reasons(raw: object, reason: str) -> None:
    """Each refusal is a reason text saying what is wrong."""
    assert check_email(raw) == reason


def test_a_long_bad_address_is_shortened_in_the_reason() -> None:
    """The reason quotes at most 80 characters of the address."""
    raw = "x" * 100 + " y@example.com"
    reason = check_email(raw)
    assert isinstance(reason, str)
    assert reason == f"email {'x' * 77 + '...'!r} is not a valid address (it contains whitespace)"

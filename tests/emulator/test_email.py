from __future__ import annotations

import pytest

from ac_segment_export.testing import is_valid_email


@pytest.mark.parametrize(
    "email",
    [
        "ana@example.org",
        "ana.ruiz+segment@mail.example.co.uk",
        "o'neil@example.org",
        "x_y-z@sub-domain.example.io",
        "UPPER@EXAMPLE.ORG",
    ],
)
def test_accepts(email: str) -> None:
    assert is_valid_email(email)


@pytest.mark.parametrize(
    "email",
    [
        "",
        "no-at-sign.example.org",
        "@example.org",
        "ana@localhost",
        "ana@example.c",
        "ana@example.c0m",
        "ana ruiz@example.org",
        "ana@example.org ",
        "\tana@example.org",
        "ana..ruiz@example.org",
        "ana@example..org",
        ".ana@example.org",
        "ana.@example.org",
        "ana@@example.org",
        "ana@-example.org",
        "invalid.email@invalidDomain",
        "jos\u00e9@example.org",
        "a" * 65 + "@example.org",
        None,
        42,
    ],
)
def test_rejects(email: object) -> None:
    assert not is_valid_email(email)

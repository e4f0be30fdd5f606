"""E.164 normalisation with phonenumbers (the ``phone`` extra): to_e164 and its checks."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

from ac_segment_export import ConfigurationError, Exporter, ExportOptions, OutcomeStatus
from ac_segment_export._export._validate import (
    check_default_country,
    require_phonenumbers,
    to_e164,
)

from .conftest import FAST, profile

if TYPE_CHECKING:
    from ac_segment_export import Client, ExportDestination
    from ac_segment_export.testing import ActiveCampaignEmulator


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        # The UK drops its trunk 0; Italy keeps the leading 0 of a fixed-line number.
        ("020 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "44", "+442079460958"),
        ("06 1234 5678", "IT", "+390612345678"),
        ("06 1234 5678", "39", "+390612345678"),
        ("0612345678", "it", "+390612345678"),
        ("333 123 4567", "IT", "+393331234567"),
        ("(202) 555-0143", "US", "+12025550143"),
        ("202.555.0143", "1", "+12025550143"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("030 12345678", "DE", "+493012345678"),
        ("030/12345678", "+49", "+493012345678"),
        ("912 345 678", "ES", "+34912345678"),
        ("612 345 678", "34", "+34612345678"),
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("06 12 34 56 78", "FR", "+33612345678"),
    ],
)
def test_a_national_number_is_read_with_the_default_country(
    phone: str, country: str, expected: str
) -> None:
    """A number without a country code follows the default country's number plan."""
    assert to_e164(phone, country) == expected


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("+39 06 1234 5678", "+390612345678"),
        ("+1 (202) 555-0143", "+12025550143"),
        ("0049 30 12345678", "+493012345678"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("  +34 912-345-678  ", "+34912345678"),
    ],
)
@pytest.mark.parametrize("country", [None, "GB", "39"])
def test_a_number_with_plus_or_00_carries_its_own_country(
    phone: str, expected: str, country: str | None
) -> None:
    """``+`` and the international prefix ``00`` override the default country."""
    assert to_e164(phone, country) == expected


@pytest.mark.parametrize(
    ("phone", "country"),
    [
        ("020 7946 0958", None),  # national, and no default country
        ("123", "GB"),  # too short for any plan
        ("+44 12", None),
        ("+44 20 7946 0958 0958 0958", None),  # too long
        ("+999 1234 5678", None),  # no such calling code
        ("not a number", "GB"),
        ("", "GB"),
        ("+", None),
        ("+44 20 7946 0958 ext. 12", None),  # E.164 cannot carry an extension
        ("06 1234 5678", "ZZ"),  # a default country that does not exist
    ],
)
def test_numbers_that_cannot_be_written_in_e164_are_none(phone: str, country: str | None) -> None:
    """Invalid, incomplete and countryless numbers are ``None``, never guessed."""
    assert to_e164(phone, country) is None


@pytest.mark.parametrize("code", [None, "GB", "gb", "IT", "US", "44", "+44", "1", "39"])
def test_default_countries_that_are_accepted(code: str | None) -> None:
    """ISO regions (any case) and calling codes (with or without ``+``) are accepted."""
    check_default_country(code)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("UK", "the United Kingdom is 'GB'"),
        ("uk", "the United Kingdom is 'GB'"),
        ("XX", "not a region or calling code phonenumbers knows"),
        ("999", "not a region or calling code phonenumbers knows"),
        ("800", "not a region or calling code phonenumbers knows"),  # non-geographic
        ("GBR", "must be an ISO 3166 region"),
        ("4444", "must be an ISO 3166 region"),
        ("", "must be an ISO 3166 region"),
        (44, "must be an ISO 3166 region"),
    ],
)
def test_default_countries_that_are_refused(code: object, message: str) -> None:
    """A default country that names no country is a ConfigurationError naming the option."""
    with pytest.raises(ConfigurationError, match="default_country_code") as info:
        check_default_country(code)
    assert message in str(info.value)


def test_require_phonenumbers_passes_when_the_extra_is_installed() -> None:
    """With phonenumbers importable, the check says nothing."""
    require_phonenumbers()


def test_a_missing_extra_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without phonenumbers, E.164 is refused with the command that installs the extra."""
    monkeypatch.setitem(sys.modules, "phonenumbers", None)  # import phonenumbers now fails
    with pytest.raises(ConfigurationError, match=r"pip install 'ac-segment-export\[phone\]'"):
        require_phonenumbers()
    with pytest.raises(ConfigurationError, match=r"ac-segment-export\[phone\]") as info:
        to_e164("+44 20 7946 0958", "GB")
    assert isinstance(info.value.__cause__, ImportError)


def test_without_the_extra_default_countries_are_checked_by_form_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An export without E.164 needs no phonenumbers: the option's form is still checked."""
    monkeypatch.setitem(sys.modules, "phonenumbers", None)
    check_default_country("GB")
    check_default_country("44")
    with pytest.raises(ConfigurationError, match="must be an ISO 3166 region"):
        check_default_country("Britain")


def test_an_export_with_phone_e164_writes_each_country_s_own_form(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    """Through the exporter: Italian numbers keep their 0, and a bad number is a rejection."""
    rows = [
        profile(0, phone="06 1234 5678"),
        profile(1, phone="+44 20 7946 0958"),
        profile(2, phone="12"),
    ]
    exporter = Exporter(
        destination,
        client=client,
        options=FAST.replace(phone_e164=True, default_country_code="39"),
    )
    report = exporter.run(rows)
    assert report.exported == 2
    (rejected,) = report.by_status(OutcomeStatus.REJECTED)
    assert rejected.position == 2
    assert rejected.reason == "phone '12' cannot be written in E.164 form"
    phones = {c.email: c.phone for c in emu.contacts}
    assert phones == {"user0@example.com": "+390612345678", "user1@example.com": "+442079460958"}


def test_options_asking_for_e164_without_the_extra_are_refused_when_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "phonenumbers", None)
    with pytest.raises(ConfigurationError, match=r"ac-segment-export\[phone\]"):
        ExportOptions(phone_e164=True)
    ExportOptions(phone_e164=False)  # not asked for: no extra needed


@pytest.mark.parametrize("code", ["GB", "it", "44", "+39"])
def test_default_country_takes_a_region_or_a_calling_code(code: str) -> None:
    assert ExportOptions(phone_e164=True, default_country_code=code).default_country_code == code


def test_uk_is_not_a_region() -> None:
    with pytest.raises(ConfigurationError, match="GB"):
        ExportOptions(default_country_code="UK")

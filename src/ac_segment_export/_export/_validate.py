"""Per-profile checks that run before anything is sent: email syntax, lengths, phone."""

from __future__ import annotations

import functools
import re

from ac_segment_export._core.errors import ConfigurationError

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_PHONE_LENGTH",
    "MAX_VALUE_LENGTH",
    "check_default_country",
    "check_email",
    "require_phonenumbers",
    "to_e164",
]

#: The longest first or last name sent (ActiveCampaign publishes no limit; this is generous).
MAX_NAME_LENGTH = 255
#: The longest phone number sent.
MAX_PHONE_LENGTH = 64
#: The longest custom-field value sent.
MAX_VALUE_LENGTH = 65_535

_LOCAL = r"[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})", re.ASCII)


def check_email(raw: object) -> tuple[str, str] | str:
    """Validate and normalise an email address.

    The check is at least as strict as ActiveCampaign's importer, so that a bulk request is
    never rejected for a format we could have caught: ASCII only, at most 254 characters,
    one ``@``, a local part of at most 64 characters from the RFC 5322 "atext" set without
    the apostrophe (which ActiveCampaign's importer refuses), no leading, trailing or doubled
    dots, and a domain of at least two labels ending in an alphabetic top-level domain.

    Returns:
        ``(email, key)`` — the address trimmed with its domain lower-cased, and the
        de-duplication key (the whole address lower-cased, as ActiveCampaign matches
        emails case-insensitively) — or a rejection reason.
    """
    if raw is None:
        return "email is missing"
    if not isinstance(raw, str):
        return f"email must be text, not {type(raw).__name__}"
    email = raw.strip()
    if not email:
        return "email is empty"
    if len(email) > 254:
        return "email is longer than 254 characters"
    match = _EMAIL.fullmatch(email)
    if match is None:
        return f"email {_shorten(email)!r} is not a valid address" + _why(email)
    local, domain = match.groups()
    if len(local) > 64:
        return "email's local part is longer than 64 characters"
    email = f"{local}@{domain.lower()}"
    return email, email.lower()


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _why(email: str) -> str:
    if not email.isascii():
        return " (only ASCII addresses are accepted)"
    if any(ch.isspace() for ch in email):
        return " (it contains whitespace)"
    if email.count("@") != 1:
        return " (it must contain exactly one @)"
    local, _, domain = email.partition("@")
    if "'" in local:
        return " (ActiveCampaign's importer refuses apostrophes)"
    if "." not in domain:
        return " (the domain has no top-level domain)"
    if ".." in email or local.startswith(".") or local.endswith("."):
        return " (misplaced dots)"
    return ""


_PHONE_EXTRA = (
    "phone_e164=True needs the phonenumbers package, an optional extra: "
    "pip install 'ac-segment-export[phone]'"
)
_REGION = re.compile(r"[A-Za-z]{2}")
_CALLING_CODE = re.compile(r"\+?[0-9]{1,3}")


def require_phonenumbers() -> None:
    """Check that E.164 normalisation can run: the ``phone`` extra is installed.

    The exporter calls it when it is built with ``phone_e164=True``, so that a missing extra
    is reported before the export starts rather than at the first phone number.

    Raises:
        ConfigurationError: ``phonenumbers`` cannot be imported; the message says how to
            install it (``pip install 'ac-segment-export[phone]'``).
    """
    try:
        import phonenumbers  # noqa: F401, PLC0415 - an optional extra, imported when asked for
    except ImportError as exc:
        raise ConfigurationError(_PHONE_EXTRA) from exc


def check_default_country(code: object) -> None:
    """Refuse a ``default_country_code`` that names no country.

    Accepted: ``None``, an ISO 3166-1 alpha-2 region (``"GB"``, ``"it"``: any case), or a
    country calling code (``"44"``, ``"+39"``). When the ``phone`` extra is installed, the
    region or calling code must also be one that ``phonenumbers`` knows.

    Raises:
        ConfigurationError: Naming ``default_country_code`` and the value.
    """
    if code is None:
        return
    if isinstance(code, str) and code.strip().upper() == "UK":
        msg = (
            "default_country_code 'UK' is not an ISO 3166 region code: the United Kingdom "
            "is 'GB' (or give its calling code, '44')."
        )
        raise ConfigurationError(msg)
    if isinstance(code, str) and (_REGION.fullmatch(code) or _CALLING_CODE.fullmatch(code)):
        try:
            import phonenumbers  # noqa: F401, PLC0415 - optional: checked further only when present
        except ImportError:
            return
        if _region(code) is not None:
            return
        msg = f"default_country_code {code!r} is not a region or calling code phonenumbers knows."
        raise ConfigurationError(msg)
    msg = (
        "default_country_code must be an ISO 3166 region such as 'GB' or 'IT', or a country "
        f"calling code such as '44' or '39' (or None), not {code!r}."
    )
    raise ConfigurationError(msg)


@functools.lru_cache(maxsize=32)
def _region(code: str) -> str | None:
    """The ``phonenumbers`` region of a region code or calling code, or ``None``."""
    import phonenumbers  # noqa: PLC0415 - the caller has checked that the extra is there

    if _REGION.fullmatch(code):
        region = code.upper()
    elif _CALLING_CODE.fullmatch(code):
        # A calling code shared by several regions (1, 7, 44...) maps to its main one;
        # phonenumbers still validates a number against the region it really belongs to.
        region = phonenumbers.region_code_for_country_code(int(code.lstrip("+")))
    else:
        return None
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


def to_e164(phone: str, default_country_code: str | None) -> str | None:
    """Normalise a phone number to E.164 (``+<country><number>``), or ``None`` if it cannot be.

    The number is parsed and checked by ``phonenumbers`` (the ``phone`` extra) with each
    country's own rules, so a national number keeps the digits that belong to it: the UK's
    ``020 7946 0958`` becomes ``+442079460958`` (the trunk 0 dropped) and Italy's
    ``06 1234 5678`` becomes ``+390612345678`` (the 0 kept). A number written with ``+`` or
    with the international prefix ``00`` carries its own country; one written without is read
    as a number of *default_country_code*, or refused when that is ``None``.

    Args:
        phone: The number as found in the profile.
        default_country_code: An ISO 3166 region (``"GB"``, ``"IT"``) or a country calling
            code (``"44"``, ``"39"``; one shared by several regions means its main region).

    Returns:
        The E.164 form, or ``None`` when the number is not a valid number (by the country's
        number plan), has an extension (E.164 cannot carry one), or has no country.

    Raises:
        ConfigurationError: The ``phone`` extra is not installed.
    """
    try:
        import phonenumbers  # noqa: PLC0415 - an optional extra
    except ImportError as exc:
        raise ConfigurationError(_PHONE_EXTRA) from exc
    text = phone.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    region = None if default_country_code is None else _region(default_country_code)
    if region is None and not text.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

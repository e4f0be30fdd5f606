"""Per-profile checks that run before anything is sent: email syntax, lengths, phone."""

from __future__ import annotations

import re

__all__ = ["MAX_NAME_LENGTH", "MAX_PHONE_LENGTH", "MAX_VALUE_LENGTH", "check_email", "to_e164"]

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


_E164_STRIP = re.compile(r"[\s().\-/]")


def to_e164(phone: str, default_country_code: str | None) -> str | None:
    """Normalise a phone number to E.164 (``+<country><number>``), or ``None`` if it cannot be.

    Spaces, dots, dashes, slashes and parentheses are removed; a leading ``00`` becomes
    ``+``; a number without a country code gets *default_country_code* (digits only, e.g.
    ``"1"`` or ``"34"``), or is refused when none is given. No per-country rules are
    applied beyond E.164's 8 to 15 digits.
    """
    digits = _E164_STRIP.sub("", phone)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        if default_country_code is None:
            return None
        digits = "+" + default_country_code.lstrip("+") + digits.lstrip("0")
    body = digits[1:]
    if not body.isdigit() or not 8 <= len(body) <= 15 or body.startswith("0"):
        return None
    return digits

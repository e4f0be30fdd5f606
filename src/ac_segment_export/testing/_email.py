"""The emulator's email syntax check.

ActiveCampaign does not publish its validator, so the emulator defines its own, stricter
than "has an @" and looser than RFC 5322. An address is accepted by `is_valid_email` when
all of these hold:

* it is ASCII, at most 254 characters, and holds no whitespace or control character;
* it holds exactly one ``@``, with a non-empty local part of at most 64 characters before
  it;
* the local part uses only letters, digits and ``!#$%&'*+/=?^_`{|}~.-``, and neither
  starts nor ends with a dot;
* the domain has at least two dot-separated labels; each label is 1-63 letters, digits or
  hyphens and neither starts nor ends with a hyphen; the last label (the TLD) is at least
  two letters and letters only;
* no two dots are adjacent anywhere.

Addresses that pass this check but whose local part holds an apostrophe are accepted by
the bulk import request and then *fail during processing*: the batch reports them in
``failure``, as the example in ActiveCampaign's ``import/info`` docs does
(`fails_processing`).
"""

from __future__ import annotations

import re

__all__ = ["fails_processing", "is_valid_email"]

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"(?P<local>{_LOCAL})@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}", re.ASCII)


def is_valid_email(value: object) -> bool:
    """Tell whether ``value`` is an email address the emulator accepts.

    Args:
        value: Anything taken from a request body.

    Returns:
        True when ``value`` is a string that passes the check described in this module's
        docstring.
    """
    if not isinstance(value, str) or len(value) > 254:
        return False
    match = _EMAIL.fullmatch(value)
    return match is not None and len(match.group("local")) <= 64


def fails_processing(email: str) -> bool:
    """Tell whether a syntactically valid address fails when its batch is processed.

    Args:
        email: An address that passed `is_valid_email`.

    Returns:
        True when the local part holds an apostrophe.
    """
    return "'" in email.partition("@")[0]

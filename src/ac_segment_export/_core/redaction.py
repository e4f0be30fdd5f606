"""Masking the API key in what the server sends back, before it reaches an error or a log.

A server (or a proxy in front of it) may echo the key it was sent: in a 403 ``message``, a
400 text body, bulk ``failureReasons``, an HTML error page. The client builds one
:class:`Redactor` from its :class:`~ac_segment_export.Secret` and hands it to the code that
turns answers into exceptions, which masks the key and its obvious encodings first.
"""

from __future__ import annotations

import base64
import html
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ac_segment_export._core.secrets import Secret

__all__ = ["MASK", "NO_REDACTION", "Redactor"]

#: What a masked key reads as.
MASK = "[redacted]"

# A base64 run this short would match ordinary text; the whole encoding is always masked.
_MIN_SHIFTED_BASE64 = 8
#: A secret shorter than this is not searched for in answers: it would match ordinary text
#: and corrupt them (ActiveCampaign's keys are 72 characters long).
MIN_SECRET_LENGTH = 8


def _text_forms(key: str) -> set[str]:
    """Forms a server may write the key in; matched without regard to case."""
    forms = {
        key,
        urllib.parse.quote(key, safe=""),
        urllib.parse.quote(key),
        urllib.parse.quote_plus(key),
        urllib.parse.quote(urllib.parse.quote(key, safe=""), safe=""),
        "".join(f"%{byte:02x}" for byte in key.encode()),
        json.dumps(key)[1:-1],
        json.dumps(key, ensure_ascii=False)[1:-1],
        json.dumps(key)[1:-1].replace("/", "\\/"),
        "".join(f"\\u{ord(ch):04x}" for ch in key),
        repr(key)[1:-1],
        html.escape(key),
    }
    return {form for form in forms if form}


def _base64_forms(key: str) -> set[str]:
    """The base64 runs that the key's bytes always produce, wherever it sits in the input.

    Encoded after 0, 1 or 2 other bytes (``user:KEY`` in a Basic header, say), the key's
    bytes come out shifted; the characters that depend on the key alone are kept.
    """
    forms = set()
    for variant in {key, key.lower(), key.upper()}:
        data = variant.encode()
        for offset in range(3):
            start = -(-offset * 8 // 6)  # the first character with no bit of the prefix
            end = (offset + len(data)) * 8 // 6  # the last one with no bit of what follows
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                run = encode(b"\0" * offset + data).decode()[start:end]
                if offset == 0 or len(run) >= _MIN_SHIFTED_BASE64:
                    forms.add(run)
    return {form for form in forms if form}


def _alternation(forms: Iterable[str]) -> str:
    return "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))


class Redactor:
    """Masks a secret, and the obvious encodings of it, in text and decoded JSON.

    Covered: the value as is and in any letter case, URL- and percent-encoded, JSON- and
    HTML-escaped, and base64 (standard and URL-safe, also inside a longer base64 run). Like
    :class:`~ac_segment_export.Secret`, it never shows what it masks and cannot be pickled.

    A secret shorter than :data:`MIN_SECRET_LENGTH` characters is not searched for: it would
    match ordinary text (a one-letter key would mask every word holding that letter).

    Args:
        secrets: The secrets to mask; none gives a redactor that changes nothing.
    """

    __slots__ = ("_any_case", "_exact", "_needles")

    def __init__(self, *secrets: Secret) -> None:
        text_forms: set[str] = set()
        base64_forms: set[str] = set()
        for secret in secrets:
            key = secret.reveal()
            if len(key) < MIN_SECRET_LENGTH:
                continue
            text_forms |= _text_forms(key)
            base64_forms |= _base64_forms(key)
        self._any_case = re.compile(_alternation(text_forms), re.IGNORECASE) if text_forms else None
        self._exact = re.compile(_alternation(base64_forms)) if base64_forms else None
        self._needles = (
            tuple(form.lower().encode() for form in text_forms),
            tuple(form.encode() for form in base64_forms),
        )

    def __call__(self, text: str) -> str:
        """*text* with every form of the secret replaced by :data:`MASK`."""
        if self._any_case is not None:
            text = self._any_case.sub(MASK, text)
        if self._exact is not None:
            text = self._exact.sub(MASK, text)
        return text

    def found_in(self, content: bytes | str) -> bool:
        """Whether *content* holds any form of the secret (a fast check before masking)."""
        raw = content.encode(errors="replace") if isinstance(content, str) else content
        any_case, exact = self._needles
        if any_case:
            lowered = raw.lower()
            if any(needle in lowered for needle in any_case):
                return True
        return any(needle in raw for needle in exact)

    def json(self, value: Any) -> Any:
        """A copy of a decoded JSON value with the secret masked in every string and key."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {
                self(str(k)) if isinstance(k, str) else k: self.json(v) for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return value

    def __repr__(self) -> str:
        return "Redactor(<hidden>)"

    def __reduce__(self) -> NoReturn:
        msg = "A Redactor cannot be pickled: it holds encodings of a secret."
        raise TypeError(msg)

    def __copy__(self) -> Redactor:
        return self

    def __deepcopy__(self, memo: object) -> Redactor:
        return self


#: A redactor that masks nothing (for code that knows no secret).
NO_REDACTION = Redactor()

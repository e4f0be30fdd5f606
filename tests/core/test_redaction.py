"""The Redactor: every encoded form of the API key is masked, and it never shows the key."""

from __future__ import annotations

import base64
import json
import pickle
import urllib.parse

import pytest

import ac_segment_export as acx
from ac_segment_export._core.redaction import MASK, Redactor

#: Characters that URL-encoding, JSON escaping and base64 each treat differently.
KEY = "k3y-0f/the+acc0unt=7f3a9c<&>"


def _b64(data: str) -> str:
    return base64.b64encode(data.encode()).decode()


ENCODINGS = {
    "as is": KEY,
    "upper case": KEY.upper(),
    "url-encoded": urllib.parse.quote(KEY, safe=""),
    "url-encoded, lower-case hex": urllib.parse.quote(KEY, safe="").lower(),
    "form-encoded": urllib.parse.quote_plus(KEY),
    "percent-encoded": "".join(f"%{b:02X}" for b in KEY.encode()),
    "json-escaped": json.dumps(KEY)[1:-1].replace("/", "\\/"),
    "unicode-escaped": "".join(f"\\u{ord(c):04x}" for c in KEY),
    "html-escaped": "k3y-0f/the+acc0unt=7f3a9c&lt;&amp;&gt;",
    "base64": _b64(KEY),
    "url-safe base64": base64.urlsafe_b64encode(KEY.encode()).decode(),
    "base64 of user:key": _b64(f"user:{KEY}"),
    "base64 of x:key": _b64(f"x:{KEY}"),
    "base64 of the upper-cased key": _b64(KEY.upper()),
}


def assert_clean(text: str) -> None:
    """No form of the key in *text* (text forms compared without regard to case)."""
    for name, form in ENCODINGS.items():
        haystack, needle = (text, form) if "base64" in name else (text.lower(), form.lower())
        assert needle not in haystack, f"the key ({name}) leaked: {text!r}"


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_redactor_masks_each_encoding(name: str) -> None:
    """Each form of the key, alone or inside other text, is replaced by the mask."""
    redact = Redactor(acx.Secret(KEY))
    form = ENCODINGS[name]
    masked = redact(f"before {form} after")
    assert_clean(masked)
    assert masked.startswith("before ")
    assert masked.endswith(" after") or "base64" in name  # a base64 tail may stay


def test_redactor_leaves_other_text_alone_and_hides_itself() -> None:
    """Text without the key is unchanged; the redactor never shows or pickles what it masks."""
    redact = Redactor(acx.Secret(KEY))
    text = "Field 'email' incorrect format for user3@example.com (contact 230)"
    assert redact(text) == text
    assert not redact.found_in(text.encode())
    assert redact.found_in(f"x {KEY.upper()} y")
    assert redact.json({"a": [KEY, 1, None, {KEY: True}]}) == {"a": [MASK, 1, None, {MASK: True}]}
    assert repr(redact) == "Redactor(<hidden>)"
    assert_clean(repr(redact))
    with pytest.raises(TypeError):
        pickle.dumps(redact)
    assert Redactor()("anything " + KEY) == "anything " + KEY


def test_a_key_shorter_than_eight_characters_is_not_searched_for() -> None:
    """A short key would mask every word holding its letters; from 8 characters it is masked."""
    assert Redactor(acx.Secret("k"))("keep it") == "keep it"
    assert Redactor(acx.Secret("1234567"))("x 1234567 y") == "x 1234567 y"
    assert Redactor(acx.Secret("12345678"))("x 12345678 y") == f"x {MASK} y"

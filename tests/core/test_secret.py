"""``Secret`` never shows the API key unless asked to with ``reveal()``."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest

import ac_segment_export as acx

VALUE = "abc123-very-secret-key"


def test_repr_str_and_format_hide_the_value() -> None:
    """repr, str, format and f-strings show a mask, never the key."""
    secret = acx.Secret(VALUE)
    shown = [
        repr(secret),
        str(secret),
        format(secret, ""),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>40}",
        "%s" % secret,  # noqa: UP031 - the %-operator is a path of its own
        "{}".format(secret),  # noqa: UP032
    ]
    for text in shown:
        assert VALUE not in text
        assert "*" in text
    assert repr(secret) == "Secret('**********')"


def test_reveal_returns_the_stripped_value() -> None:
    """reveal() gives the value back, without surrounding whitespace."""
    assert acx.Secret(f"  {VALUE}\n").reveal() == VALUE


def test_secret_of_a_secret_keeps_the_value() -> None:
    """Wrapping a Secret again does not mask the mask."""
    assert acx.Secret(acx.Secret(VALUE)).reveal() == VALUE  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "blank"), ("   ", "blank"), ("ab cd", "whitespace"), (None, "must be a string")],
)
def test_bad_values_are_refused(value: object, message: str) -> None:
    """Blank, spaced and non-string keys are configuration errors that do not echo the value."""
    with pytest.raises(acx.ConfigurationError, match=message) as caught:
        acx.Secret(value)  # type: ignore[arg-type]
    assert "ab cd" not in str(caught.value)


def test_pickle_is_refused() -> None:
    """A Secret cannot be serialized with pickle (the value would land on disk)."""
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(acx.Secret(VALUE))


def test_equality_and_hash() -> None:
    """Secrets with equal values are equal and hash alike; a str never equals a Secret."""
    a, b, c = acx.Secret(VALUE), acx.Secret(VALUE), acx.Secret(VALUE + "x")
    assert a == b
    assert hash(a) == hash(b)
    assert a != c
    assert a != VALUE
    assert len({a, b, c}) == 2


def test_copies_are_the_same_object() -> None:
    """copy and deepcopy do not duplicate the secret."""
    secret = acx.Secret(VALUE)
    assert copy.copy(secret) is secret
    assert copy.deepcopy({"k": secret})["k"] is secret


def test_logging_a_secret_shows_the_mask(caplog: pytest.LogCaptureFixture) -> None:
    """A Secret passed to a logger as an argument is rendered masked."""
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test.secret").debug(
            "key is %s / %r", acx.Secret(VALUE), acx.Secret(VALUE)
        )
    assert VALUE not in caplog.text
    assert "**********" in caplog.text

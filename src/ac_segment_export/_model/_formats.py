"""ActiveCampaign's custom-field types: how one profile value is written for each.

Each formatter takes one profile value (after the attribute's transform) and returns the text
ActiveCampaign stores for a field of that type, ``None`` for an absent or empty value (which
is then not sent), or raises :class:`InvalidValueError` with a reason. Dates and date-times
are ISO 8601, numbers are plain decimals, dropdown/radio values one allowed option, and
listbox/checkbox values ``||``-joined allowed options. :func:`formatter_for` picks the
formatter of a field once, when a mapping is resolved; the mapper then only calls it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from typing import TYPE_CHECKING, Any

from ac_segment_export._model._values import plain

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from ac_segment_export._core.wire import CustomField

__all__ = [
    "InvalidValueError",
    "Options",
    "format_date",
    "format_datetime",
    "format_number",
    "format_text",
    "formatter_for",
    "multi_choice",
    "parse_flag",
    "shown",
    "single_choice",
    "value_tags",
]

_MAX_SHOWN = 60


class InvalidValueError(Exception):
    """A value that cannot be sent; the message completes ``"<where>: "``."""


def shown(value: object) -> str:
    """A value's repr for a reason text, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def format_text(value: object) -> str | None:
    """A single text value (text fields, names, tags); numbers and dates are written as text."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, (float, decimal.Decimal)):
        return format_number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, str)):
        return str(value)
    msg = f"{shown(value)} is a {type(value).__name__}, expected a single text value"
    raise InvalidValueError(msg)


_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def format_number(value: object) -> str | None:
    """A number field's value: a finite int, float or Decimal, or a numeric string."""
    if isinstance(value, bool):
        msg = f"{value!r} is a boolean, expected a number"
        raise InvalidValueError(msg)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"{value!r} is not a finite number"
            raise InvalidValueError(msg)
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            msg = f"{value!r} is not a finite number"
            raise InvalidValueError(msg)
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if _NUMBER.match(text):
            return text
    msg = f"{shown(value)} is not a number"
    raise InvalidValueError(msg)


def _parse_iso(text: str) -> dt.datetime | dt.date:
    text = text.strip()
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


def format_date(value: object) -> str | None:
    """A date field's value, ``YYYY-MM-DD``, from a date, a datetime or an ISO string."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            parsed = _parse_iso(value)
        except ValueError:
            pass
        else:
            return (parsed.date() if isinstance(parsed, dt.datetime) else parsed).isoformat()
    msg = f"{shown(value)} is not a date (expected a date, a datetime or 'YYYY-MM-DD')"
    raise InvalidValueError(msg)


def format_datetime(value: object) -> str | None:
    """A date-time field's value in ISO 8601, from a datetime, a date or an ISO string."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time()).isoformat()
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            parsed = _parse_iso(value)
        except ValueError:
            pass
        else:
            if not isinstance(parsed, dt.datetime):
                parsed = dt.datetime.combine(parsed, dt.time())
            return parsed.isoformat()
    msg = (
        f"{shown(value)} is not a date-time (expected a datetime, a date or an ISO 8601 "
        "string like '2024-05-01T09:30:00+02:00')"
    )
    raise InvalidValueError(msg)


class Options:
    """A field's allowed options, matched exactly first and then case-insensitively."""

    def __init__(self, options: Sequence[str]) -> None:
        self.options = tuple(options)
        self.exact = frozenset(options)
        folded: dict[str, list[str]] = {}
        for option in options:
            folded.setdefault(option.casefold(), []).append(option)
        self.folded = {key: values[0] for key, values in folded.items() if len(values) == 1}

    def check(self, value: str) -> str:
        """The option *value* names (its canonical spelling), or invalid."""
        if not self.exact or value in self.exact:
            return value
        canonical = self.folded.get(value.casefold())
        if canonical is not None:
            return canonical
        listed = ", ".join(map(repr, self.options[:10]))
        more = f" and {len(self.options) - 10} more" if len(self.options) > 10 else ""
        msg = f"{shown(value)} is not one of the field's options ({listed}{more})"
        raise InvalidValueError(msg)


def single_choice(options: Options) -> Callable[[object], str | None]:
    """The formatter of a dropdown or radio field: one of its options."""

    def fmt(value: object) -> str | None:
        text = format_text(value)
        if text is None:
            return None
        return options.check(text.strip())

    return fmt


def multi_choice(options: Options) -> Callable[[object], str | None]:
    """The formatter of a listbox or checkbox field: ``||``-joined options, each once."""

    def fmt(value: object) -> str | None:
        if isinstance(value, str):
            items: Iterable[Any] = value.split("||") if "||" in value else (value,)
        elif isinstance(value, (set, frozenset)):
            items = sorted(value, key=str)
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            items = (value,)
        chosen: dict[str, None] = {}
        for item in items:
            item = plain(item)  # noqa: PLW2901 - NaN and numpy scalars as plain values
            if item is None:
                continue
            text = format_text(item)
            if text is not None:
                chosen[options.check(text.strip())] = None
        if not chosen:
            return None
        return "||" + "||".join(chosen) + "||"

    return fmt


def formatter_for(field: CustomField) -> Callable[[object], str | None]:
    """The value formatter for one custom field's type (unknown types are text)."""
    kind = field.type.lower()
    if kind == "date":
        return format_date
    if kind == "datetime":
        return format_datetime
    if kind == "number":
        return format_number
    if kind in {"dropdown", "radio"}:
        return single_choice(Options(field.options))
    if kind in {"listbox", "checkbox"}:
        return multi_choice(Options(field.options))
    return format_text


_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


def parse_flag(value: object) -> bool:
    """A :class:`FlagTag` attribute's value as a yes/no; anything else is invalid."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float, decimal.Decimal)):
        return bool(value)
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    msg = f"{shown(value)} is not a yes/no value"
    raise InvalidValueError(msg)


def value_tags(value: object, prefix: str) -> list[str]:
    """The tags a :class:`ValueTag` derives from one value (or a list, tuple or set of them)."""
    items: Iterable[Any]
    if isinstance(value, (list, tuple)):
        items = value
    elif isinstance(value, (set, frozenset)):
        items = sorted(value, key=str)
    else:
        items = (value,)
    out = []
    for item in items:
        item = plain(item)  # noqa: PLW2901 - NaN and numpy scalars as plain values
        if item is None:
            continue
        text = format_text(item)
        if text is not None:
            out.append(prefix + text.strip())
    return out

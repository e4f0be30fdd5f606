"""``Schedule``: when a saved export should run (a 5-field cron expression and a time zone).

The workspace stores and validates schedules, and says which saved exports are due
(:meth:`Workspace.due`, :meth:`Workspace.run_due`); something outside it (cron, a systemd
timer, an orchestrator) calls that every few minutes. The expression is checked strictly:
five fields (minute, hour, day of month, month, day of week), each ``*``, a number, a range
``a-b``, any of those with a step ``/n`` (ranges and ``*`` only), or a comma-separated list
of them; months and week days may be written by their three-letter English names; day of
week 7 is Sunday, like 0. The usual ``@hourly``, ``@daily`` (``@midnight``), ``@weekly``,
``@monthly`` and ``@yearly`` (``@annually``) stand for their expressions.

Fire times are evaluated by croniter (the ``schedule`` extra), imported only when a schedule
is evaluated, in the schedule's time zone, with daylight saving time handled so that every
scheduled time of a day fires once:

- spring forward: a time the clock skips (02:30 when 02:00 becomes 03:00) fires once, at the
  first instant after the gap (03:00 local): croniter's behaviour, kept. An expression whose
  hour field is ``*`` just goes on at its next minute in the new hour;
- fall back: a time the clock shows twice (01:30 when 02:00 becomes 01:00 again) fires once,
  at its first occurrence, when the expression's hour field is not ``*`` (croniter alone
  would fire it twice). An expression whose hour field is ``*`` (every hour, every 15
  minutes) keeps its interval through the repeated hour, as cron does.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

import attrs

from ac_segment_export._core.errors import ConfigurationError

__all__ = ["Schedule"]

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
#: (name, lowest, highest, names from the lowest value on)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_ITEM = re.compile(r"^(?:(\*)|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:/([0-9]+))?$")


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.isdigit() and text.isascii():
        number = int(text)
    elif text.upper() in names:
        number = names.index(text.upper()) + low
    else:
        msg = f"{text!r} is not a {name} ({low}-{high}{', or a name' if names else ''})."
        raise ConfigurationError(msg)
    if not low <= number <= high:
        msg = f"{name} {number} is out of range ({low}-{high})."
        raise ConfigurationError(msg)
    return number


def _check_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> None:
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            msg = f"{item!r} is not a valid {name} item (*, N, A-B, */N, A-B/N or a list)."
            raise ConfigurationError(msg)
        star, first, last, step = match.groups()
        if step is not None:
            if int(step) == 0:
                msg = f"the step of {item!r} ({name}) must be at least 1."
                raise ConfigurationError(msg)
            if star is None and last is None:
                msg = f"{item!r} ({name}): a step needs * or a range (A-B/N)."
                raise ConfigurationError(msg)
        if star is not None:
            continue
        start = _value(first, name, low, high, names)
        if last is not None and _value(last, name, low, high, names) < start:
            msg = f"the range {item!r} ({name}) ends before it starts."
            raise ConfigurationError(msg)


def _cron(value: object) -> str:
    if not isinstance(value, str):
        msg = f"A cron expression must be a string, not {type(value).__name__}."
        raise ConfigurationError(msg)
    text = " ".join(value.split())
    text = _MACROS.get(text.lower(), text)
    parts = text.split(" ")
    if len(parts) != len(_FIELDS):
        msg = (
            f"The cron expression {value!r} has {len(parts)} fields; expected 5 (minute, hour, "
            "day of month, month, day of week), e.g. '0 6 * * *' for every day at 06:00."
        )
        raise ConfigurationError(msg)
    try:
        for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
            _check_field(part, name, low, high, names)
    except ConfigurationError as exc:
        msg = f"The cron expression {value!r} is invalid: {exc}"
        raise ConfigurationError(msg) from None
    return text


_UTC = dt.timezone.utc
_EXTRA_HINT = "pip install 'ac-segment-export[schedule]'"


def _croniter() -> tuple[Any, type[Exception]]:
    """Croniter's class and its "no such date" error, imported on first use."""
    try:
        from croniter import CroniterBadDateError, croniter  # noqa: PLC0415 - an extra
    except ImportError:
        msg = f"Evaluating a schedule needs croniter: {_EXTRA_HINT}."
        raise ConfigurationError(msg) from None
    return croniter, CroniterBadDateError


def aware(value: object, name: str) -> dt.datetime:
    """*value* as an aware datetime in UTC; a naive one (or anything else) is refused."""
    if not isinstance(value, dt.datetime):
        msg = f"{name} must be a datetime with a time zone, not {type(value).__name__}."
        raise ConfigurationError(msg)
    if value.tzinfo is None or value.utcoffset() is None:
        msg = (
            f"{name} must be an aware datetime (with a time zone), not the naive {value!r}: "
            "e.g. datetime.now(timezone.utc)."
        )
        raise ConfigurationError(msg)
    return value.astimezone(_UTC)


def _timezone(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"A schedule's time zone must be an IANA name like 'Europe/Rome', not {value!r}."
        raise ConfigurationError(msg)
    try:
        zoneinfo.ZoneInfo(value.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        msg = (
            f"{value!r} is not a time zone this system knows; use an IANA name like "
            "'Europe/Rome' or 'UTC' (install tzdata where the system has no zone database)."
        )
        raise ConfigurationError(msg) from None
    return value.strip()


@attrs.frozen
class Schedule:
    """When a saved export runs: a cron expression read in a time zone.

    Args:
        cron: Five fields, ``minute hour day-of-month month day-of-week`` (``"0 6 * * 1-5"``:
            weekdays at 06:00), or ``@daily`` and its kin; checked strictly, kept normalised.
        timezone: The IANA time zone the expression is read in (``"Europe/Rome"``); checked
            with :mod:`zoneinfo`.

    Raises:
        ConfigurationError: An invalid expression or an unknown time zone.
    """

    cron: str = attrs.field(converter=_cron)
    timezone: str = attrs.field(default="UTC", converter=_timezone)

    @property
    def _zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def _repeat(self, fire: dt.datetime) -> bool:
        """Whether *fire* is the second showing of a wall-clock time that fired already."""
        if "*" in self.cron.split(" ")[1]:  # an interval over every hour keeps its pace
            return False
        zone = self._zone
        wall = fire.astimezone(zone).replace(tzinfo=None)
        first = wall.replace(tzinfo=zone, fold=0).astimezone(_UTC)
        return first < fire.astimezone(_UTC)

    def _walk(self, start: dt.datetime, *, forward: bool) -> dt.datetime | None:
        croniter, no_such_date = _croniter()
        try:
            it = croniter(self.cron, start.astimezone(self._zone))
            while True:  # a repeat is skipped: the next one is a day or more away
                found = it.get_next(dt.datetime) if forward else it.get_prev(dt.datetime)
                fire: dt.datetime = found.astimezone(_UTC)
                if not self._repeat(fire):
                    return fire
        except no_such_date:  # nothing in croniter's search horizon (Feb 30)
            return None
        except ValueError as exc:  # an expression the validator let through
            msg = f"croniter cannot evaluate the schedule {self.cron!r}: {exc}"
            raise ConfigurationError(msg) from None

    def next_fire(self, after: dt.datetime) -> dt.datetime | None:
        """The first fire time strictly after *after*, in UTC.

        Args:
            after: An aware datetime (any time zone).

        Returns:
            The fire time, or ``None`` when the expression never fires (``0 0 30 2 *``).

        Raises:
            ConfigurationError: *after* is naive, or croniter is not installed
                (``pip install 'ac-segment-export[schedule]'``).
        """
        return self._walk(aware(after, "after"), forward=True)

    def last_fire(self, at_or_before: dt.datetime) -> dt.datetime | None:
        """The latest fire time at or before *at_or_before*, in UTC.

        Args:
            at_or_before: An aware datetime (any time zone).

        Returns:
            The fire time, or ``None`` when the expression never fires.

        Raises:
            ConfigurationError: *at_or_before* is naive, or croniter is not installed.
        """
        when = aware(at_or_before, "at_or_before").replace(microsecond=0)
        # croniter's previous time is strictly before its start; fire times are whole minutes.
        return self._walk(when + dt.timedelta(seconds=1), forward=False)

    def to_dict(self) -> dict[str, str]:
        """A JSON-able dict (read back by :meth:`from_dict`)."""
        return {"cron": self.cron, "timezone": self.timezone}

    @classmethod
    def from_dict(cls, data: Any) -> Schedule:
        """A schedule from :meth:`to_dict`'s output."""
        if not isinstance(data, dict) or set(data) - {"cron", "timezone"} or "cron" not in data:
            msg = f"A stored schedule must be {{'cron': ..., 'timezone': ...}}, not {data!r}."
            raise ConfigurationError(msg)
        return cls(data["cron"], data.get("timezone", "UTC"))

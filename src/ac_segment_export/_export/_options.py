"""``ExportOptions``: every knob of an export run, written once with its default and its check."""

from __future__ import annotations

import math
from typing import Any, Literal

import attrs

from ac_segment_export._core import convert
from ac_segment_export._core.errors import ConfigurationError
from ac_segment_export._core.ops import BULK_MAX_CONTACTS
from ac_segment_export._export._validate import check_default_country, require_phonenumbers

__all__ = ["MAX_REQUESTS_IN_FLIGHT", "ExportOptions"]

#: The most bulk-import requests an export keeps on the wire at once.
MAX_REQUESTS_IN_FLIGHT = 16


def _integer(low: int, high: int | None = None) -> Any:
    def check(_: object, attribute: attrs.Attribute[int], value: object) -> None:
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < low
            or (high is not None and value > high)
        ):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            msg = f"{attribute.name} must be an integer {bounds}, not {value!r}."
            raise ConfigurationError(msg)

    return check


def _seconds(*, positive: bool = False) -> Any:
    def check(_: object, attribute: attrs.Attribute[float], value: object) -> None:
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < 0
            or (positive and value == 0)
        ):
            what = "a positive" if positive else "a non-negative"
            msg = f"{attribute.name} must be {what} number of seconds, not {value!r}."
            raise ConfigurationError(msg)

    return check


def _flag(_: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        msg = f"{attribute.name} must be True or False, not {value!r}."
        raise ConfigurationError(msg)


def _keep(_: object, __: attrs.Attribute[str], value: object) -> None:
    if value not in ("first", "last"):
        msg = f"keep must be 'first' or 'last', not {value!r}."
        raise ConfigurationError(msg)


def _fraction(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        msg = f"{attribute.name} must be a number from 0 to 1, not {value!r}."
        raise ConfigurationError(msg)


def _country_code(_: object, __: attrs.Attribute[str | None], value: object) -> None:
    check_default_country(value)


@attrs.frozen(kw_only=True)
class ExportOptions:
    """How one export runs: every knob, with its default, in one frozen value.

    Checked when made: a bad value is a :class:`~ac_segment_export.ConfigurationError`
    before any request. Round-trips through :meth:`to_dict` / :meth:`from_dict`.

    Attributes:
        dry_run: Map, validate, de-duplicate and diff against the list, writing nothing.
        keep: Which of several profiles with one email wins, ``"first"`` or ``"last"``
            (``"last"`` reads a re-iterable source twice).
        max_profiles: The most profiles one export may send.
        check_unsubscribed: Read the list's unsubscribed members first, to report them
            ``skipped`` instead of sending them.
        phone_e164: Normalise phone numbers to E.164 with each country's number plan,
            rejecting those that cannot be (needs the ``phone`` extra: phonenumbers).
        default_country_code: The country of numbers written without a country code: an
            ISO 3166 region (``"GB"``, ``"IT"``) or a calling code (``"44"``, ``"+39"``).
        allow_missing_columns: Let an optional mapped column be absent from the source (a
            frame's schema, or every profile of a stream's first batch), for sparse data;
            by default that is a :class:`~ac_segment_export.MissingColumnError`.
        batch_size: Contacts per bulk-import request (2 to 250).
        max_in_flight: Batches queued at ActiveCampaign before submission waits.
        max_requests_in_flight: Bulk-import requests on the wire at once. On a real network an
            answer takes longer than the account's pacing between two bulk requests, so the
            next one leaves before the last one's answer arrives. ``None`` (the default)
            derives the bound from what the run observes: the slowest recent answer over
            the spacing pacing keeps between two bulk requests, plus one (2 to
            :data:`MAX_REQUESTS_IN_FLIGHT`; 4 until there is something to observe). Pacing,
            not this bound, decides when a request leaves. 1 sends them one by one.
        first_poll_delay: Seconds after a submit before its first status check.
        poll_interval: Seconds between status checks of a batch.
        max_batch_resubmits: Times a batch that ended ``failed``/``interrupted`` is resent.
        max_batch_wait: Seconds after which a batch that has not ended is ``unknown``.
        cancel_grace: After a cancel (or a failing source or sink), seconds to keep
            tracking the batches in flight before reporting the rest ``unknown``.
        max_unsubscribe_fraction: Mirror refuses to unsubscribe more than this fraction of
            the list's active members.
        allow_empty: Mirror may run with a segment that holds no readable email (and so
            unsubscribe every member of the list).
        full_refresh_every: Incremental sync (a saved export, or an exporter given a sync
            state): seconds after which a run sends every profile again, healing edits made
            inside ActiveCampaign (default 7 days; 0 sends everything every run).
    """

    dry_run: bool = attrs.field(default=False, validator=_flag)
    keep: Literal["first", "last"] = attrs.field(default="first", validator=_keep)
    max_profiles: int = attrs.field(default=1_000_000, validator=_integer(1))
    check_unsubscribed: bool = attrs.field(default=True, validator=_flag)
    phone_e164: bool = attrs.field(default=False, validator=_flag)
    default_country_code: str | None = attrs.field(default=None, validator=_country_code)
    allow_missing_columns: bool = attrs.field(default=False, validator=_flag)
    batch_size: int = attrs.field(default=BULK_MAX_CONTACTS, validator=_integer(2, 250))
    max_in_flight: int = attrs.field(default=40, validator=_integer(1))
    max_requests_in_flight: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_integer(1, MAX_REQUESTS_IN_FLIGHT))
    )
    first_poll_delay: float = attrs.field(default=1.0, validator=_seconds())
    poll_interval: float = attrs.field(default=2.0, validator=_seconds())
    max_batch_resubmits: int = attrs.field(default=2, validator=_integer(0))
    max_batch_wait: float = attrs.field(default=3600.0, validator=_seconds(positive=True))
    cancel_grace: float = attrs.field(default=60.0, validator=_seconds())
    max_unsubscribe_fraction: float = attrs.field(default=0.5, validator=_fraction)
    allow_empty: bool = attrs.field(default=False, validator=_flag)
    full_refresh_every: float = attrs.field(default=7 * 86400.0, validator=_seconds())

    def __attrs_post_init__(self) -> None:
        if self.phone_e164:
            require_phonenumbers()  # the 'phone' extra, asked for now rather than per profile

    def replace(self, **changes: Any) -> ExportOptions:
        """These options with some changed (checked again)."""
        return attrs.evolve(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what a saved export stores)."""
        data: dict[str, Any] = convert.converter.unstructure(self)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportOptions:
        """Options from :meth:`to_dict`'s output; unknown keys and bad values are refused."""
        result: ExportOptions = convert.converter.structure(data, cls)
        return result


def _structure(data: Any, cls: type[ExportOptions]) -> ExportOptions:
    """Strict: each value is checked by its field's validator, never coerced."""
    if not isinstance(data, dict):
        msg = f"Export options must be a mapping, not {type(data).__name__}."
        raise ConfigurationError(msg)
    unknown = set(data) - {a.name for a in attrs.fields(cls)}
    if unknown:
        msg = f"Unknown export options: {', '.join(sorted(unknown))}."
        raise ConfigurationError(msg)
    return cls(**data)


convert.converter.register_structure_hook(ExportOptions, _structure)

# Resolve the annotations here: the top-level package re-labels the class's ``__module__``,
# where these names would not resolve.
attrs.resolve_types(ExportOptions)

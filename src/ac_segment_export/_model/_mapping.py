"""Field mappings: which profile attribute goes where, and the fast mapper built from them.

A :class:`FieldMapping` is configuration: profile attribute names for Email, First name, Last
name, Phone, for any number of custom fields (addressed by personalization tag, title or ID)
and for tags. Resolving it against the account's custom fields (:meth:`FieldMapping.resolve`,
done by :meth:`ExportDestination.validate`) produces a :class:`FieldMapper`: the object the
exporter calls once per profile. Everything that can be decided once (which field each entry
writes, how its type is formatted, which options are allowed) is decided at resolve time, so
that mapping one profile is a handful of dictionary look-ups.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, Union, runtime_checkable

import attrs

from ac_segment_export._core.errors import FieldMappingError
from ac_segment_export._core.wire import CustomField, FieldValueInput

__all__ = [
    "Attribute",
    "FieldMapper",
    "FieldMapping",
    "FlagTag",
    "MappedProfile",
    "Rejection",
    "ResolvedMapper",
    "TagRule",
    "ValueTag",
]

Transform = Callable[[Any], Any]

_MAX_SHOWN = 60


# -- the contract the exporter calls ----------------------------------------------------------


_new_tuple = tuple.__new__


class MappedProfile(NamedTuple):
    """One profile turned into what the exporter sends for one contact.

    An immutable record (a named tuple: the mapper builds one per profile, a million times
    in a large export, and a tuple is the cheapest immutable record Python has).

    Attributes:
        email: The email as found in the profile, ``str()``-ed; the exporter validates and
            normalises it.
        first_name: ``None`` when the attribute is absent or empty: the value is then not sent,
            so an existing value in ActiveCampaign is never blanked.
        last_name: Like ``first_name``.
        phone: Like ``first_name``.
        fields: Custom-field values, already formatted for each field's type. Absent or empty
            values are left out (never sent as blanks).
        tags: Tags derived from the profile's attributes (the destination's constant tags are
            *not* included: the exporter adds :attr:`ExportDestination.tags` to every contact).
    """

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    fields: tuple[FieldValueInput, ...] = ()
    tags: tuple[str, ...] = ()


@attrs.frozen
class Rejection:
    """Why one profile cannot be exported; the exporter reports it as a rejected record.

    Attributes:
        reason: What is wrong, naming the attribute and the field, e.g.
            ``"field 'Birthday' (attribute 'DOB'): 'not-a-date' is not a date ..."``.
        field: The destination the bad value was meant for: ``"email"``, ``"first_name"``,
            ``"last_name"``, ``"phone"``, a custom field's title, or ``"tag '<tag>'"``.
        email: The profile's email as read, when it could be read (the profile was rejected
            for another value). Mirror mode counts such a profile as a segment member, so a
            bad value never gets its owner unsubscribed.
    """

    reason: str
    field: str | None = None
    email: str | None = None


@runtime_checkable
class FieldMapper(Protocol):
    """Turns one profile into a :class:`MappedProfile`, or a :class:`Rejection` with a reason.

    :meth:`FieldMapping.resolve` builds one; for full control, implement this protocol and
    hand your object to the exporter (or to :class:`ExportDestination` as ``mapping``). A
    mapper must not raise for a bad profile: it returns a :class:`Rejection`.
    """

    def map(self, profile: Mapping[str, Any]) -> MappedProfile | Rejection:
        """Map one profile (any mapping of attribute names to values)."""
        ...


# -- configuration ----------------------------------------------------------------------------


def _check_attribute_name(name: object, what: str) -> str:
    if not isinstance(name, str):
        msg = (
            f"The {what} must be a profile attribute name (a string) or an Attribute, "
            f"not {type(name).__name__}: {name!r}."
        )
        raise FieldMappingError(msg)
    if not name.strip():
        msg = f"The {what} is blank; expected the name of a profile attribute."
        raise FieldMappingError(msg)
    return name


def _check_transform(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        msg = f"An attribute transform must be callable (or None), not {value!r}."
        raise FieldMappingError(msg)


def _attribute_name(value: object) -> str:
    return _check_attribute_name(value, "attribute name")


@attrs.frozen
class Attribute:
    """A profile attribute, optionally with a transform applied to its value before formatting.

    Args:
        name: The attribute's name in the profile mapping (used verbatim).
        transform: A callable applied to the value when the value is present (not ``None``).
            What it returns is then formatted for the destination. If it raises, the profile is
            rejected with a reason naming the attribute; it never stops the export.

    Transforms are code, not data: they cannot be serialized. ``to_dict`` stores them by the
    name you give in a ``transforms`` registry (and ``from_dict`` looks them up in one).
    """

    name: str = attrs.field(converter=_attribute_name)
    transform: Transform | None = attrs.field(default=None, validator=_check_transform)


def _as_attribute(value: object, what: str) -> Attribute:
    if isinstance(value, Attribute):
        return value
    return Attribute(_check_attribute_name(value, what))


def _tag_text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"A tag must be a non-blank string, not {value!r}."
        raise FieldMappingError(msg)
    return value.strip()


def _rule_attribute(value: object) -> Attribute:
    return _as_attribute(value, "tag rule's attribute")


@attrs.frozen
class FlagTag:
    """Add ``tag`` to contacts whose attribute is true.

    True values: ``True``, non-zero numbers and the strings ``true``/``yes``/``y``/``1``
    (any case). False: ``False``, ``0``, ``None``, empty, ``false``/``no``/``n``/``0``. Any
    other value rejects the profile (it is never guessed).

    Args:
        attribute: The profile attribute (a name or an :class:`Attribute`).
        tag: The tag to add.
    """

    attribute: Attribute = attrs.field(converter=_rule_attribute)
    tag: str = attrs.field(converter=_tag_text)


def _prefix(value: object) -> str:
    if not isinstance(value, str):
        msg = f"A tag prefix must be a string, not {value!r}."
        raise FieldMappingError(msg)
    return value


@attrs.frozen
class ValueTag:
    """Use the attribute's value as the tag (or tags, for a list, tuple or set of values).

    Args:
        attribute: The profile attribute (a name or an :class:`Attribute`).
        prefix: Put in front of each value, e.g. ``"segment:"``.
    """

    attribute: Attribute = attrs.field(converter=_rule_attribute)
    prefix: str = attrs.field(default="", converter=_prefix)


TagRule = Union[FlagTag, ValueTag]  # noqa: UP007 - a runtime alias that also works on 3.10

FieldRef = Union[str, int]  # noqa: UP007
_STANDARD = ("first_name", "last_name", "phone")


def _field_ref(ref: object) -> FieldRef:
    if isinstance(ref, bool) or not isinstance(ref, (str, int)):
        msg = (
            f"Custom field reference {ref!r} must be a personalization tag (like "
            "'LOYALTY_TIER' or '%LOYALTY_TIER%'), a field title, or a numeric field ID."
        )
        raise FieldMappingError(msg)
    if isinstance(ref, int):
        if ref <= 0:
            msg = f"Custom field ID {ref} must be a positive integer."
            raise FieldMappingError(msg)
        return ref
    if not ref.strip() or not ref.strip().strip("%").strip():
        msg = (
            f"Custom field reference {ref!r} is blank; expected a personalization tag, "
            "a title or a numeric field ID."
        )
        raise FieldMappingError(msg)
    return ref.strip()


def _fields(value: object) -> tuple[tuple[FieldRef, Attribute], ...]:
    if isinstance(value, Mapping):
        items: Iterable[Any] = value.items()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        msg = (
            "fields must map custom field references to profile attributes, e.g. "
            f"{{'LOYALTY_TIER': 'Tier'}}, not {type(value).__name__}."
        )
        raise FieldMappingError(msg)
    out: list[tuple[FieldRef, Attribute]] = []
    seen: dict[str | int, FieldRef] = {}
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            msg = f"Each fields entry must be a (field reference, attribute) pair, not {item!r}."
            raise FieldMappingError(msg)
        ref = _field_ref(item[0])
        key = ref if isinstance(ref, int) else ref.strip("%").casefold()
        if key in seen:
            msg = f"Custom field {ref!r} is mapped twice (also as {seen[key]!r})."
            raise FieldMappingError(msg)
        seen[key] = ref
        out.append((ref, _as_attribute(item[1], f"attribute for custom field {ref!r}")))
    return tuple(out)


def _tags(value: object) -> tuple[TagRule, ...]:
    if isinstance(value, (FlagTag, ValueTag)):
        return (value,)
    if not isinstance(value, (list, tuple)):
        msg = f"tags must be a sequence of FlagTag/ValueTag rules, not {type(value).__name__}."
        raise FieldMappingError(msg)
    for rule in value:
        if not isinstance(rule, (FlagTag, ValueTag)):
            msg = (
                f"Tag rule {rule!r} is neither a FlagTag nor a ValueTag. Mapping tags come from "
                "profile attributes; tags added to every contact go in ExportDestination(tags=)."
            )
            raise FieldMappingError(msg)
    return tuple(value)


def _email(value: object) -> Attribute:
    if value is None or (isinstance(value, str) and not value.strip()):
        msg = (
            "The mapping has no Email: set email= to the profile attribute that holds each "
            "contact's email address (for example email='EmailAddress'); it is required."
        )
        raise FieldMappingError(msg)
    return _as_attribute(value, "email attribute")


def _optional(value: object, what: str) -> Attribute | None:
    if value is None:
        return None
    return _as_attribute(value, f"{what} attribute")


def _first_name(value: object) -> Attribute | None:
    return _optional(value, "first_name")


def _last_name(value: object) -> Attribute | None:
    return _optional(value, "last_name")


def _phone(value: object) -> Attribute | None:
    return _optional(value, "phone")


@attrs.frozen
class FieldMapping:
    """Which profile attribute feeds each contact field.

    Every value is a *profile attribute name* (or an :class:`Attribute` carrying a transform).

    Args:
        email: The attribute holding the email address. Required.
        first_name: The attribute for First name, if any.
        last_name: The attribute for Last name, if any.
        phone: The attribute for Phone, if any.
        fields: Custom fields: a mapping (or sequence of pairs) from a field reference to an
            attribute. A reference is a personalization tag (``"LOYALTY_TIER"`` or
            ``"%LOYALTY_TIER%"``, the latter matching tags only), a field title, or an ``int``
            field ID. References are resolved against all the account's fields by
            :meth:`resolve`; unknown or ambiguous ones are errors, never skipped.
        tags: :class:`FlagTag` and :class:`ValueTag` rules deriving tags from attributes.

    Raises:
        FieldMappingError: Email is missing or blank, or an entry is malformed.

    Example::

        FieldMapping(email="EmailAddress", first_name="FirstName",
                     fields={"LOYALTY_TIER": Attribute("Tier", transform=str.upper),
                             "Birthday": "DateOfBirth"},
                     tags=[FlagTag("IsVip", "VIP"), ValueTag("Segment", prefix="seg:")])
    """

    email: Attribute = attrs.field(converter=_email)
    first_name: Attribute | None = attrs.field(default=None, kw_only=True, converter=_first_name)
    last_name: Attribute | None = attrs.field(default=None, kw_only=True, converter=_last_name)
    phone: Attribute | None = attrs.field(default=None, kw_only=True, converter=_phone)
    fields: tuple[tuple[FieldRef, Attribute], ...] = attrs.field(
        factory=tuple, kw_only=True, converter=_fields
    )
    tags: tuple[TagRule, ...] = attrs.field(factory=tuple, kw_only=True, converter=_tags)

    def resolve(self, account_fields: Iterable[CustomField]) -> ResolvedMapper:
        """Resolve the custom-field references against the account's fields (no I/O).

        Args:
            account_fields: Every custom field of the account (all pages of ``/fields``).

        Returns:
            The mapper for this mapping, with each reference bound to its field.

        Raises:
            FieldMappingError: Listing every reference that matches no field or more than one,
                or two references that name the same field.
        """
        index = _FieldIndex(tuple(account_fields))
        problems: list[str] = []
        bound: list[tuple[CustomField, Attribute]] = []
        taken: dict[int, FieldRef] = {}
        for ref, attribute in self.fields:
            try:
                field = index.find(ref)
            except _UnresolvedError as exc:
                problems.append(f"{ref!r} (attribute {attribute.name!r}): {exc}")
                continue
            if field.id in taken:
                problems.append(
                    f"{ref!r} (attribute {attribute.name!r}) names the same field "
                    f"{_describe(field)} as {taken[field.id]!r}"
                )
                continue
            taken[field.id] = ref
            bound.append((field, attribute))
        if problems:
            count = len(problems)
            noun = "reference" if count == 1 else "references"
            msg = (
                f"{count} custom field {noun} of the mapping could not be resolved against the "
                f"account's {len(index.fields)} custom fields: " + "; ".join(problems) + ". "
                "Use the field's personalization tag, exact title or numeric ID (Contacts > "
                "Fields in ActiveCampaign); unmapped fields are never skipped silently."
            )
            raise FieldMappingError(msg)
        return ResolvedMapper(self, tuple(bound))


# -- resolving references ---------------------------------------------------------------------


class _UnresolvedError(Exception):
    pass


def _describe(field: CustomField) -> str:
    tag = f", tag {field.perstag!r}" if field.perstag else ""
    return f"#{field.id} {field.title!r}{tag}"


class _FieldIndex:
    def __init__(self, fields: tuple[CustomField, ...]) -> None:
        self.fields = fields
        self.by_id: dict[int, CustomField] = {}
        self.by_tag: dict[str, list[CustomField]] = {}
        self.by_title: dict[str, list[CustomField]] = {}
        for field in fields:
            self.by_id[field.id] = field
            if field.perstag:
                self.by_tag.setdefault(field.perstag.strip("%").casefold(), []).append(field)
            self.by_title.setdefault(field.title.strip().casefold(), []).append(field)

    def find(self, ref: FieldRef) -> CustomField:
        if isinstance(ref, int):
            if ref in self.by_id:
                return self.by_id[ref]
            msg = "no custom field has this ID"
            raise _UnresolvedError(msg)
        tag_only = ref.startswith("%") and ref.endswith("%") and len(ref) > 1
        key = ref.strip("%").strip().casefold()
        found: dict[int, tuple[CustomField, str]] = {}
        for field in self.by_tag.get(key, ()):
            found.setdefault(field.id, (field, "personalization tag"))
        if not tag_only:
            for field in self.by_title.get(key, ()):
                found.setdefault(field.id, (field, "title"))
            if key.isdigit() and int(key) in self.by_id:
                found.setdefault(int(key), (self.by_id[int(key)], "ID"))
        if len(found) == 1:
            return next(iter(found.values()))[0]
        if found:
            listed = ", ".join(f"{_describe(f)} by {how}" for f, how in found.values())
            msg = (
                f"ambiguous, it matches {len(found)} fields ({listed}); use the numeric ID or "
                "'%TAG%' to pick one"
            )
            raise _UnresolvedError(msg)
        names: dict[str, tuple[int, str]] = {}
        for field in self.fields:
            if field.perstag:
                names.setdefault(field.perstag.strip("%").casefold(), (field.id, field.perstag))
            if not tag_only:
                names.setdefault(field.title.strip().casefold(), (field.id, field.title))
        close = difflib.get_close_matches(key, list(names), n=6, cutoff=0.75)
        suggested = list({names[c][0]: names[c][1] for c in reversed(close)}.values())[::-1]
        shown = ", ".join(map(repr, suggested[:3]))
        hint = f" (did you mean {shown}?)" if suggested else ""
        what = "personalization tag" if tag_only else "personalization tag, title or ID"
        msg = f"no custom field has this {what}{hint}"
        raise _UnresolvedError(msg)


# -- formatting values ------------------------------------------------------------------------


class _InvalidValueError(Exception):
    """A value that cannot be sent; the message completes ``"<where>: "``."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, (float, decimal.Decimal)):
        return _number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, str)):
        return str(value)
    msg = f"{_shown(value)} is a {type(value).__name__}, expected a single text value"
    raise _InvalidValueError(msg)


_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def _number(value: object) -> str | None:
    if isinstance(value, bool):
        msg = f"{value!r} is a boolean, expected a number"
        raise _InvalidValueError(msg)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"{value!r} is not a finite number"
            raise _InvalidValueError(msg)
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            msg = f"{value!r} is not a finite number"
            raise _InvalidValueError(msg)
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if _NUMBER.match(text):
            return text
    msg = f"{_shown(value)} is not a number"
    raise _InvalidValueError(msg)


def _parse_iso(text: str) -> dt.datetime | dt.date:
    text = text.strip()
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


def _date(value: object) -> str | None:
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
    msg = f"{_shown(value)} is not a date (expected a date, a datetime or 'YYYY-MM-DD')"
    raise _InvalidValueError(msg)


def _datetime(value: object) -> str | None:
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
        f"{_shown(value)} is not a date-time (expected a datetime, a date or an ISO 8601 "
        "string like '2024-05-01T09:30:00+02:00')"
    )
    raise _InvalidValueError(msg)


class _Options:
    """A field's allowed options, matched exactly first and then case-insensitively."""

    def __init__(self, options: Sequence[str]) -> None:
        self.options = tuple(options)
        self.exact = frozenset(options)
        folded: dict[str, list[str]] = {}
        for option in options:
            folded.setdefault(option.casefold(), []).append(option)
        self.folded = {key: values[0] for key, values in folded.items() if len(values) == 1}

    def check(self, value: str) -> str:
        if not self.exact or value in self.exact:
            return value
        canonical = self.folded.get(value.casefold())
        if canonical is not None:
            return canonical
        shown = ", ".join(map(repr, self.options[:10]))
        more = f" and {len(self.options) - 10} more" if len(self.options) > 10 else ""
        msg = f"{_shown(value)} is not one of the field's options ({shown}{more})"
        raise _InvalidValueError(msg)


def _single_choice(options: _Options) -> Callable[[object], str | None]:
    def fmt(value: object) -> str | None:
        text = _text(value)
        if text is None:
            return None
        return options.check(text.strip())

    return fmt


def _multi_choice(options: _Options) -> Callable[[object], str | None]:
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
            if item is None:
                continue
            text = _text(item)
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
        return _date
    if kind == "datetime":
        return _datetime
    if kind == "number":
        return _number
    if kind in {"dropdown", "radio"}:
        return _single_choice(_Options(field.options))
    if kind in {"listbox", "checkbox"}:
        return _multi_choice(_Options(field.options))
    return _text


_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


def _flag(value: object) -> bool:
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
    msg = f"{_shown(value)} is not a yes/no value"
    raise _InvalidValueError(msg)


def _value_tags(value: object, prefix: str) -> list[str]:
    items: Iterable[Any]
    if isinstance(value, (list, tuple)):
        items = value
    elif isinstance(value, (set, frozenset)):
        items = sorted(value, key=str)
    else:
        items = (value,)
    out = []
    for item in items:
        if item is None:
            continue
        text = _text(item)
        if text is not None:
            out.append(prefix + text.strip())
    return out


# -- the resolved mapper ----------------------------------------------------------------------


class ResolvedMapper:
    """The :class:`FieldMapper` built by :meth:`FieldMapping.resolve`.

    Attributes:
        mapping: The mapping it was built from.
        fields: Each custom field the mapping writes, with the attribute feeding it, in mapping
            order.
    """

    __slots__ = ("_email", "_fields", "_standard", "_tags", "fields", "mapping")

    def __init__(
        self, mapping: FieldMapping, fields: tuple[tuple[CustomField, Attribute], ...]
    ) -> None:
        self.mapping = mapping
        self.fields = fields
        self._email = (mapping.email.name, mapping.email.transform)
        self._standard = tuple(
            (slot, attribute.name, attribute.transform)
            for slot in _STANDARD
            if (attribute := getattr(mapping, slot)) is not None
        )
        self._fields = tuple(
            (
                attribute.name,
                attribute.transform,
                formatter_for(field),
                field.id,
                field.title,
            )
            for field, attribute in fields
        )
        self._tags = tuple(
            (
                rule.attribute.name,
                rule.attribute.transform,
                rule.tag if isinstance(rule, FlagTag) else None,
                rule.prefix if isinstance(rule, ValueTag) else "",
            )
            for rule in mapping.tags
        )

    def __repr__(self) -> str:
        return f"ResolvedMapper(email={self._email[0]!r}, fields={len(self._fields)})"

    def email_of(self, profile: Mapping[str, Any]) -> str | None:
        """The profile's email as the mapping reads it, or ``None`` when it cannot be read."""
        name, transform = self._email
        try:
            value = profile.get(name)
            if transform is not None and value is not None:
                value = transform(value)
            return None if value is None else str(value)
        except Exception:  # noqa: BLE001 - unreadable is an answer here
            return None

    def map(self, profile: Mapping[str, Any]) -> MappedProfile | Rejection:  # noqa: PLR0915 - the hot path, kept inline
        """Map one profile; never raises for a bad value (a :class:`Rejection` says why)."""
        get = profile.get
        name, transform = self._email
        value = get(name)
        if transform is not None and value is not None:
            try:
                value = transform(value)
            except Exception as exc:  # noqa: BLE001 - a user's transform may raise anything
                return _transform_failed("email", name, exc)
        if value is None or (email := str(value)).strip() == "":
            return Rejection(f"email (attribute {name!r}): missing or empty", "email")

        standard: dict[str, str | None] = {}
        for slot, name, transform in self._standard:
            value = get(name)
            if value is None:
                continue
            if transform is not None:
                try:
                    value = transform(value)
                except Exception as exc:  # noqa: BLE001
                    return _transform_failed(slot, name, exc, email=email)
                if value is None:
                    continue
            if type(value) is str:
                value = value.strip()
                if value:
                    standard[slot] = value
                continue
            try:
                text = _text(value)
            except _InvalidValueError as exc:
                return Rejection(f"{slot} (attribute {name!r}): {exc}", slot, email)
            if text is not None:
                standard[slot] = text.strip()

        fields: list[FieldValueInput] = []
        for name, transform, fmt, field_id, title in self._fields:
            value = get(name)
            if value is None:
                continue
            if transform is not None:
                try:
                    value = transform(value)
                except Exception as exc:  # noqa: BLE001
                    return _transform_failed(f"field {title!r}", name, exc, title, email=email)
                if value is None:
                    continue
            try:
                text = fmt(value)
            except _InvalidValueError as exc:
                return Rejection(f"field {title!r} (attribute {name!r}): {exc}", title, email)
            if text is not None:
                fields.append(FieldValueInput(field_id, text))

        tags: list[str] = []
        for name, transform, flag_tag, prefix in self._tags:
            value = get(name)
            if transform is not None and value is not None:
                try:
                    value = transform(value)
                except Exception as exc:  # noqa: BLE001
                    where = f"tag {flag_tag!r}" if flag_tag else f"tags from {name!r}"
                    return _transform_failed(where, name, exc, where, email=email)
            try:
                if flag_tag is not None:
                    if _flag(value):
                        tags.append(flag_tag)
                elif value is not None:
                    tags.extend(_value_tags(value, prefix))
            except _InvalidValueError as exc:
                where = f"tag {flag_tag!r}" if flag_tag else f"tags from {name!r}"
                return Rejection(f"{where} (attribute {name!r}): {exc}", where, email)
        if len(tags) > 1:
            tags = list(dict.fromkeys(tags))

        return _new_tuple(  # MappedProfile(...) without NamedTuple's slower __new__
            MappedProfile,
            (
                email,
                standard.get("first_name"),
                standard.get("last_name"),
                standard.get("phone"),
                tuple(fields),
                tuple(tags),
            ),
        )


def _transform_failed(
    where: str, name: str, exc: Exception, field: str | None = None, *, email: str | None = None
) -> Rejection:
    try:
        detail = str(exc).encode("utf-8", "backslashreplace").decode()
    except Exception:  # noqa: BLE001 - an exception whose __str__ raises
        detail = ""
    if len(detail) > 200:
        detail = detail[:197] + "..."
    reason = f"{where} (attribute {name!r}): the transform raised {type(exc).__name__}" + (
        f": {detail}" if detail else ""
    )
    return Rejection(reason, field if field is not None else where, email)

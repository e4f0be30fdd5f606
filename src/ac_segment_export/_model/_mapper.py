"""The resolved mapper: the per-profile hot path, and the contract the exporter calls.

:class:`FieldMapper` is what the exporter needs (one ``map`` call per profile), returning a
:class:`MappedProfile` or a :class:`Rejection`. :class:`ResolvedMapper` is the mapper that
:meth:`FieldMapping.resolve` builds: everything that can be decided once (which field each
entry writes, which formatter it uses) is decided in its constructor, so that mapping one
profile is a handful of dictionary look-ups. This module does not import the configuration
classes at run time (the configuration module imports this one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

import attrs

from ac_segment_export._core.wire import FieldValueInput
from ac_segment_export._model._formats import (
    InvalidValueError,
    format_text,
    formatter_for,
    parse_flag,
    value_tags,
)
from ac_segment_export._model._values import plain

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ac_segment_export._core.wire import CustomField
    from ac_segment_export._model._mapping import Attribute, FieldMapping

__all__ = ["FieldMapper", "MappedProfile", "Rejection", "ResolvedMapper", "UnreadableProfile"]

_STANDARD = ("first_name", "last_name", "phone")


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


@attrs.frozen
class UnreadableProfile:
    """A record a source could not read, yielded in its place to be reported, not dropped.

    A file reader yields one for a line it cannot parse (a malformed CSV row, a line that is
    not JSON): the exporter reports it as a rejected profile with :attr:`reason`, at its
    position in the input. Its owner is unknown unless :attr:`email` could be recovered, so
    in mirror mode a segment with such a record is not complete: mirror unsubscribes no one
    (the report's ``stop_reason`` says why), as when the segment was not read in full.

    Attributes:
        reason: What could not be read and where, e.g. ``"line 17: 5 fields, the header has 4"``.
        email: The record's email, when it could still be told apart.
    """

    reason: str
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
        # A FlagTag has a ``tag`` and a ValueTag a ``prefix``: read by name, since this module
        # does not import the configuration classes at run time (their module imports this one).
        self._tags = tuple(
            (
                rule.attribute.name,
                rule.attribute.transform,
                getattr(rule, "tag", None),
                getattr(rule, "prefix", ""),
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
            if type(value) is not str:
                value = plain(value)
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
        if type(value) is not str:
            value = plain(value)  # NaN, NaT, pd.NA: missing; numpy scalars: Python values
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
            if type(value) is not str and (value := plain(value)) is None:
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
                text = format_text(value)
            except InvalidValueError as exc:
                return Rejection(f"{slot} (attribute {name!r}): {exc}", slot, email)
            if text is not None:
                standard[slot] = text.strip()

        fields: list[FieldValueInput] = []
        for name, transform, fmt, field_id, title in self._fields:
            value = get(name)
            if type(value) is not str and (value := plain(value)) is None:
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
            except InvalidValueError as exc:
                return Rejection(f"field {title!r} (attribute {name!r}): {exc}", title, email)
            if text is not None:
                fields.append(FieldValueInput(field_id, text))

        tags: list[str] = []
        for name, transform, flag_tag, prefix in self._tags:
            value = get(name)
            if type(value) is not str:
                value = plain(value)
            if transform is not None and value is not None:
                try:
                    value = transform(value)
                except Exception as exc:  # noqa: BLE001
                    where = f"tag {flag_tag!r}" if flag_tag else f"tags from {name!r}"
                    return _transform_failed(where, name, exc, where, email=email)
            try:
                if flag_tag is not None:
                    if parse_flag(value):
                        tags.append(flag_tag)
                elif value is not None:
                    tags.extend(value_tags(value, prefix))
            except InvalidValueError as exc:
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

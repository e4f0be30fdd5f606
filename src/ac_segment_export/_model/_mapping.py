"""Field mappings: which profile attribute goes where (the configuration of a mapping).

A :class:`FieldMapping` is configuration: profile attribute names for Email, First name, Last
name, Phone, for any number of custom fields (addressed by personalization tag, title or ID)
and for tags (:class:`FlagTag`, :class:`ValueTag`). Resolving it against the account's custom
fields (:meth:`FieldMapping.resolve`, done by :meth:`ExportDestination.validate`) binds every
reference to one field, here, and builds a :class:`ResolvedMapper` (``_mapper.py``): the
object the exporter calls once per profile, which formats each value for its field's type
with the formatters of ``_formats.py``. The mapper's names are re-exported from this module.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import attrs

from ac_segment_export._core.errors import FieldMappingError
from ac_segment_export._model._mapper import FieldMapper, MappedProfile, Rejection, ResolvedMapper

if TYPE_CHECKING:
    from ac_segment_export._core.wire import CustomField

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


def _attribute_name(value: str) -> str:
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


def _tag_text(tag: str) -> str:
    value: object = tag  # checked for callers without type checking
    if not isinstance(value, str) or not value.strip():
        msg = f"A tag must be a non-blank string, not {value!r}."
        raise FieldMappingError(msg)
    return value.strip()


def _rule_attribute(value: str | Attribute) -> Attribute:
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


def _prefix(prefix: str) -> str:
    value: object = prefix  # checked for callers without type checking
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
"""A tag rule of a :class:`FieldMapping`: a :class:`FlagTag` or a :class:`ValueTag`."""

FieldRef = Union[str, int]  # noqa: UP007


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


#: What ``FieldMapping(fields=...)`` takes: field references (``str`` or ``int``) to
#: attributes, as a mapping or as pairs. The mapping's key type is ``Any`` because mapping
#: keys are invariant: a ``dict[str, str]`` is not a ``Mapping[str | int, str]``. Keys are
#: checked when the mapping is made.
FieldsArg = Union[  # noqa: UP007
    Mapping[Any, Union[str, Attribute]],  # noqa: UP007
    Sequence[tuple[FieldRef, Union[str, Attribute]]],  # noqa: UP007
]


def _fields(value: FieldsArg) -> tuple[tuple[FieldRef, Attribute], ...]:
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


def _tags(value: TagRule | Sequence[TagRule]) -> tuple[TagRule, ...]:
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


def _email(email: str | Attribute) -> Attribute:
    value: object = email  # checked for callers without type checking
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


def _first_name(value: str | Attribute | None) -> Attribute | None:
    return _optional(value, "first_name")


def _last_name(value: str | Attribute | None) -> Attribute | None:
    return _optional(value, "last_name")


def _phone(value: str | Attribute | None) -> Attribute | None:
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

"""``--map TARGET=COLUMN``: the command line's field mapping.

Targets: ``email``, ``first_name``, ``last_name``, ``phone``, ``field:PERSTAG``,
``field:"Field title"`` (quoted when it holds spaces or ``=``), ``field:12`` (a field ID) and
``tag`` (the column's value becomes a tag). Without ``email=``, the email is read from a
column named ``email``.
"""

from __future__ import annotations

import re

import attrs

from ac_segment_export._model import FieldMapping, ValueTag

__all__ = ["MapError", "MapSpec", "parse_maps"]

_STANDARD = ("email", "first_name", "last_name", "phone")
_ALIASES = {"firstname": "first_name", "lastname": "last_name", "first": "first_name"}
_PERSTAG = re.compile(r"^%?[A-Za-z0-9_]+%?$")


class MapError(ValueError):
    """A ``--map`` value that cannot be read."""


@attrs.frozen
class MapSpec:
    """What the ``--map`` options say, and the :class:`FieldMapping` they make.

    Attributes:
        standard: ``{"email": column, "first_name": column, …}``.
        fields: ``(reference, column)`` pairs; a reference is a perstag, a title or an ID.
        tags: Columns whose values become tags.
    """

    standard: dict[str, str]
    fields: tuple[tuple[str | int, str], ...]
    tags: tuple[str, ...]

    def mapping(self) -> FieldMapping:
        """The field mapping."""
        return FieldMapping(
            email=self.standard.get("email", "email"),
            first_name=self.standard.get("first_name"),
            last_name=self.standard.get("last_name"),
            phone=self.standard.get("phone"),
            fields=list(self.fields),
            tags=[ValueTag(column) for column in self.tags],
        )


def _split(value: str) -> tuple[str, str]:
    if value.startswith('field:"'):
        close = value.find('"', len('field:"'))
        if close < 0 or value[close + 1 : close + 2] != "=":
            msg = f"--map {value!r}: a quoted title needs its closing quote, then =COLUMN."
            raise MapError(msg)
        return value[: close + 1], value[close + 2 :]
    target, sep, column = value.partition("=")
    if not sep:
        msg = f"--map {value!r}: expected TARGET=COLUMN, e.g. email=EmailAddress."
        raise MapError(msg)
    return target, column


def _reference(text: str, value: str) -> str | int:
    ref = text.removeprefix("field:").strip()
    if ref.startswith('"') and ref.endswith('"') and len(ref) >= 2:
        ref = ref[1:-1].strip()
    if not ref:
        msg = f'--map {value!r}: name the custom field: field:PERSTAG, field:"Title" or field:ID.'
        raise MapError(msg)
    if ref.isdigit() and ref.isascii():
        return int(ref)
    return ref


def parse_maps(values: tuple[str, ...] | list[str]) -> MapSpec:
    """Read the ``--map`` options.

    Raises:
        MapError: A value without ``=``, an unknown target, an empty column, or a target
            mapped twice.
    """
    standard: dict[str, str] = {}
    fields: list[tuple[str | int, str]] = []
    tags: list[str] = []
    seen_refs: set[str | int] = set()
    for value in values:
        target, column = _split(value.strip())
        target = target.strip()
        column = column.strip()
        if not column:
            msg = f"--map {value!r}: the column after = is empty."
            raise MapError(msg)
        key = target.lower()
        key = _ALIASES.get(key, key)
        if key in _STANDARD:
            if key in standard:
                msg = f"--map: {key} is mapped twice ({standard[key]!r} and {column!r})."
                raise MapError(msg)
            standard[key] = column
        elif key == "tag":
            tags.append(column)
        elif key.startswith("field:"):
            ref = _reference(target, value)
            if ref in seen_refs:
                msg = f"--map: the field {ref!r} is mapped twice."
                raise MapError(msg)
            seen_refs.add(ref)
            fields.append((ref, column))
        else:
            msg = (
                f"--map {value!r}: unknown target {target!r}; use email, first_name, "
                'last_name, phone, field:PERSTAG, field:"Title", field:ID or tag.'
            )
            raise MapError(msg)
    return MapSpec(standard, tuple(fields), tuple(tags))


def sandbox_field(ref: str | int) -> tuple[str, str | None]:
    """The title and perstag the sandbox gives a field the mapping names by *ref*."""
    text = str(ref)
    if isinstance(ref, str) and _PERSTAG.match(text):
        tag = text.strip("%").upper()
        return tag.replace("_", " ").title(), tag
    return text, None

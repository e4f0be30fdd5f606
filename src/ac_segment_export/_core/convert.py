"""The one converter for what the library stores: its own values as plain, JSON-ready data.

The wire converter (:mod:`ac_segment_export._core.wire`) reads ActiveCampaign's loose JSON;
this one writes and reads the library's own stored shapes (connections and destinations; the
exporter's options, reports and checkpoints), strictly: unknown keys are refused.

Each layer registers its classes here when it is imported (:func:`register_class`,
:func:`register_tagged_union`, :func:`register_enums`), without importing it from here. A
call that needs choices of its own (write the API key or not, where to read it from, which
transforms a mapping uses) takes a :func:`derive` d copy with its hooks and throws it away, so
no choice outlives its call or reaches another thread.

What is built in:

- a ``datetime`` is an ISO 8601 string (``Z`` is read as UTC);
- a :class:`Secret` is written as ``None`` and cannot be read: a layer that stores a key says
  how, per call. A secret is never written by accident.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn
from cattrs.strategies import configure_tagged_union

from ac_segment_export._core.errors import ConfigurationError
from ac_segment_export._core.secrets import Secret

if TYPE_CHECKING:
    import enum

__all__ = [
    "Overrides",
    "converter",
    "derive",
    "register_class",
    "register_enums",
    "register_tagged_union",
]

#: Builds a class's attribute overrides (``cattrs.gen.override(...)`` by attribute name) for
#: the converter its hooks are made for.
Overrides = Callable[[cattrs.Converter], Mapping[str, Any]]

#: The shared converter. Hooks are registered on it at import time only.
converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=False)

# cattrs' Converter.copy() does not carry hooks registered for union types, and a tagged
# union's hooks bind the member classes' hooks when configured: derive() configures the
# unions again on each copy, after the copy's own hooks.
_tagged_unions: list[tuple[Any, str, dict[type, str]]] = []


def _datetime_out(value: dt.datetime) -> str:
    return value.isoformat()


def _datetime_in(value: object, _: object) -> dt.datetime:
    if not isinstance(value, str):
        msg = f"expected an ISO 8601 timestamp string, not {value!r}"
        raise ConfigurationError(msg)
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        msg = f"{value!r} is not an ISO 8601 timestamp"
        raise ConfigurationError(msg) from None


def _secret_out(_: Secret) -> None:
    return None


def _secret_in(_: object, __: object) -> Secret:
    msg = "A stored secret cannot be read without saying where the key comes from."
    raise ConfigurationError(msg)


converter.register_unstructure_hook(dt.datetime, _datetime_out)
converter.register_structure_hook(dt.datetime, _datetime_in)
converter.register_unstructure_hook(Secret, _secret_out)
converter.register_structure_hook(Secret, _secret_in)


def register_class(
    cls: type[Any],
    *,
    name: str,
    version: int | None = None,
    omit_if_default: bool = False,
    overrides: Overrides | None = None,
) -> None:
    """Store the attrs class *cls* as a dict of its attributes.

    The hooks are made per converter (the shared one and each :func:`derive` d copy), so a
    copy's hooks reach the class's attributes.

    Args:
        cls: The attrs class.
        name: What the class is called in messages ("connection").
        version: When given, the dict carries ``"version": version``; a stored dict without
            one is read as this version, one with another is refused.
        omit_if_default: Leave out the attributes that have their default value.
        overrides: Per-attribute overrides (``cattrs.gen.override``), built for the converter
            the hooks are made for.
    """

    def unstructure(_: type[Any], conv: cattrs.Converter) -> Callable[[Any], dict[str, Any]]:
        attributes = overrides(conv) if overrides is not None else {}
        fn = make_dict_unstructure_fn(
            cls, conv, _cattrs_omit_if_default=omit_if_default, **attributes
        )
        if version is None:
            return fn
        return lambda value: {"version": version, **fn(value)}

    def structure(_: type[Any], conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
        attributes = overrides(conv) if overrides is not None else {}
        fn = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True, **attributes)

        def load(data: Any, target: Any) -> Any:
            if not isinstance(data, Mapping):
                msg = f"A stored {name} must be a mapping, not {type(data).__name__}."
                raise ConfigurationError(msg)
            if version is not None:
                data = dict(data)
                stored = data.pop("version", version)
                if stored != version:
                    msg = f"The stored {name} has version {stored!r}; this library reads {version}."
                    raise ConfigurationError(msg)
            return fn(data, target)

        return load

    converter.register_unstructure_hook_factory(lambda t: t is cls, unstructure)
    converter.register_structure_hook_factory(lambda t: t is cls, structure)


def register_tagged_union(union: Any, *, tag_name: str, tags: Mapping[type, str]) -> None:
    """Store a union of attrs classes as their dicts with a tag naming the class.

    Args:
        union: The union type, e.g. ``FlagTag | ValueTag``.
        tag_name: The key that holds the tag (``"type"``).
        tags: The tag of each member class.
    """
    entry = (union, tag_name, dict(tags))
    _tagged_unions.append(entry)
    _configure(converter, entry)


def _configure(conv: cattrs.Converter, entry: tuple[Any, str, dict[type, str]]) -> None:
    union, tag_name, tags = entry
    configure_tagged_union(union, conv, tag_generator=tags.__getitem__, tag_name=tag_name)


def register_enums(*classes: type[enum.Enum], checked: bool = True) -> None:
    """Store enums by their values.

    Registered per class: an enum that is also a ``str`` would otherwise pass through as is.

    Args:
        *classes: The enum classes.
        checked: Read a value into the enum, refusing unknown ones. ``False`` passes the value
            on unchanged, for attributes whose own attrs converter checks it (with its
            message).
    """
    for cls in classes:
        converter.register_unstructure_hook(cls, _enum_value)
        converter.register_structure_hook(cls, _enum_in if checked else _as_is)


def _enum_value(value: enum.Enum) -> object:
    return value.value


def _enum_in(value: object, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in cls)
        msg = f"{value!r} is not a {cls.__name__}; expected one of {allowed}."
        raise ConfigurationError(msg) from None


def _as_is(value: object, _: object) -> object:
    return value


def derive(
    *,
    unstructure: Mapping[Any, Callable[[Any], Any]] | None = None,
    structure: Mapping[Any, Callable[[Any, Any], Any]] | None = None,
) -> cattrs.Converter:
    """A copy of :data:`converter` with hooks of its own, for one call's choices.

    Args:
        unstructure: Hooks writing values of these types, instead of the shared ones.
        structure: Hooks reading values of these types, instead of the shared ones.
    """
    conv = converter.copy()
    for cls, out in (unstructure or {}).items():
        conv.register_unstructure_hook(cls, out)
    for cls, load in (structure or {}).items():
        conv.register_structure_hook(cls, load)
    for entry in _tagged_unions:
        _configure(conv, entry)
    return conv

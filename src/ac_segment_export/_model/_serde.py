"""Plain-data (dict / JSON) forms of connections and destinations, through the one converter.

The stored shapes (``version`` 1)::

    connection:  {"version": 1, "display_name": str, "host": str,
                  "api_key": None | {"env": NAME} | {"ref": REF} | {"value": KEY},
                  "usable_by": "admins" | "admins_and_contributors",
                  "consent": None | {"accepted_by": str, "accepted_at": ISO-8601 UTC,
                                     "terms_version": str,
                                     "revoked_by"?: str, "revoked_at"?: ISO-8601 UTC},
                  "export_user": None | str}
    destination: {"version": 1, "connection": <connection> | None, "name": str,
                  "list_id": int, "mapping": <mapping>, "tags": [str],
                  "run_automations": bool, "mode": "upsert" | "mirror"}
    mapping:     {"email": <attr>, "first_name"?: <attr>, "last_name"?: <attr>,
                  "phone"?: <attr>, "fields"?: [{"field": str | int, "attribute": <attr>}],
                  "tags"?: [{"type": "flag", "attribute": <attr>, "tag": str}
                            | {"type": "value", "attribute": <attr>, "prefix": str}]}
    <attr>:      "AttributeName" | {"name": str, "transform": TRANSFORM_NAME}

The classes are registered on the shared converter (:mod:`ac_segment_export._core.convert`)
when this module is imported. What one call chooses (write the key or a reference to it, where
to read it from, the transforms registry, the connection of a destination) goes into hooks of
a converter derived for that call only. The key's value is written only on request
(``include_secrets=True``); transforms are written by the name the caller gives them, because
a callable cannot be stored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import override

from ac_segment_export._core import convert
from ac_segment_export._core.errors import (
    ConfigurationError,
    FieldMappingError,
    SecretNotFoundError,
)
from ac_segment_export._core.secrets import Secret
from ac_segment_export._model._connection import Connection, Consent
from ac_segment_export._model._destination import ExportDestination, ExportMode
from ac_segment_export._model._mapping import (
    Attribute,
    FieldMapping,
    FlagTag,
    TagRule,
    ValueTag,
)
from ac_segment_export._model._roles import Actor, Audience, Role

__all__ = [
    "SCHEMA_VERSION",
    "connection_from_dict",
    "connection_to_dict",
    "destination_from_dict",
    "destination_to_dict",
    "load_json",
    "mapping_from_dict",
    "mapping_to_dict",
]

#: The version of the stored shapes.
SCHEMA_VERSION = 1

Transforms = Mapping[str, Callable[[Any], Any]]
SecretProvider = Callable[[str], "str | Secret"]


@attrs.frozen
class _KeyOut:
    include_secrets: bool = False
    env: str | None = None
    ref: str | None = None


@attrs.frozen
class _KeyIn:
    api_key: str | Secret | None = None
    provider: SecretProvider | None = None
    environ: Mapping[str, str] | None = None


def _non_blank(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _secret_out(key: _KeyOut) -> Callable[[Secret], dict[str, str] | None]:
    chosen = [
        name
        for name, on in (
            ("include_secrets", key.include_secrets),
            ("api_key_env", key.env is not None),
            ("api_key_ref", key.ref is not None),
        )
        if on
    ]
    if len(chosen) > 1:
        msg = f"Pass at most one of include_secrets, api_key_env and api_key_ref, not {chosen}."
        raise ConfigurationError(msg)
    if key.env is not None and not _non_blank(key.env):
        msg = f"api_key_env must name an environment variable, not {key.env!r}."
        raise ConfigurationError(msg)
    if key.ref is not None and not _non_blank(key.ref):
        msg = f"api_key_ref must be a non-blank reference string, not {key.ref!r}."
        raise ConfigurationError(msg)

    def out(secret: Secret) -> dict[str, str] | None:
        if key.include_secrets:
            return {"value": secret.reveal()}
        if key.env is not None:
            return {"env": key.env.strip()}
        if key.ref is not None:
            return {"ref": key.ref}
        return None

    return out


def _secret_in(key: _KeyIn) -> Callable[[object, object], Secret]:
    def load(entry: object, _: object) -> Secret:
        if key.api_key is not None:
            return Secret(key.api_key)
        if entry is None:
            msg = (
                "The stored connection carries no API key (it was saved without one); pass "
                "api_key= to from_dict(), or save it with api_key_env= or api_key_ref=."
            )
            raise ConfigurationError(msg)
        if not isinstance(entry, Mapping) or len(entry) != 1:
            msg = (
                "The stored api_key must be null, {'env': NAME}, {'ref': REF} or "
                f"{{'value': KEY}}, not an entry with keys {_keys(entry)}."
            )
            raise ConfigurationError(msg)
        ((kind, value),) = entry.items()
        if kind == "value":
            return Secret(value)
        if kind == "env":
            environ = os.environ if key.environ is None else key.environ
            found = environ.get(value) if isinstance(value, str) else None
            if found is None:
                msg = (
                    f"The environment variable {value!r}, which should hold the connection's "
                    "API key, is not set."
                )
                raise SecretNotFoundError(msg, reference=f"env:{value}")
            return Secret(found)
        if kind == "ref":
            if key.provider is None:
                msg = (
                    f"The connection's API key is stored as reference {value!r}; pass "
                    "secret_provider= (a callable taking the reference, returning the key)."
                )
                raise SecretNotFoundError(msg, reference=f"ref:{value}")
            try:
                provided = key.provider(value)
            except Exception as exc:
                msg = f"The secret provider failed for reference {value!r} ({type(exc).__name__})."
                raise SecretNotFoundError(msg, reference=f"ref:{value}") from exc
            return Secret(provided)
        msg = f"Unknown api_key entry {kind!r}; expected 'env', 'ref' or 'value'."
        raise ConfigurationError(msg)

    return load


def _keys(entry: object) -> str:
    if isinstance(entry, Mapping):
        return ", ".join(map(repr, entry)) or "none"
    return f"(a {type(entry).__name__})"


def _attribute_out(transforms: Transforms | None) -> Callable[[Attribute], object]:
    names = {id(fn): name for name, fn in (transforms or {}).items()}

    def out(attribute: Attribute) -> object:
        if attribute.transform is None:
            return attribute.name
        name = names.get(id(attribute.transform))
        if name is None:
            for candidate, fn in (transforms or {}).items():
                if fn == attribute.transform:
                    name = candidate
                    break
        if name is None:
            msg = (
                f"The transform {attribute.transform!r} of attribute {attribute.name!r} cannot "
                "be serialized: a callable is code, not data. Name it with "
                "transforms={'my_name': fn} in to_dict(), and pass the same registry to "
                "from_dict()."
            )
            raise FieldMappingError(msg)
        return {"name": attribute.name, "transform": name}

    return out


def _attribute_in(transforms: Transforms | None) -> Callable[[object, object], Attribute | str]:
    def load(value: object, _: object) -> Attribute | str:
        if isinstance(value, str):
            # Left to the model's own converters, whose messages name the slot.
            return value
        if isinstance(value, Mapping) and set(value) <= {"name", "transform"} and "name" in value:
            name = value.get("transform")
            if name is None:
                return Attribute(value["name"])
            if not isinstance(name, str) or transforms is None or name not in transforms:
                msg = (
                    f"Attribute {value['name']!r} uses transform {name!r}, which is not in the "
                    "transforms= registry given to from_dict()."
                )
                raise FieldMappingError(msg)
            return Attribute(value["name"], transform=transforms[name])
        msg = (
            "A stored attribute must be a name or {'name': ..., 'transform': ...}, not "
            f"{value!r}."
        )
        raise FieldMappingError(msg)

    return load


def _optional(
    load: Callable[[object, object], Attribute | str],
) -> Callable[[object, object], Attribute | str | None]:
    def optional(value: object, cls: object) -> Attribute | str | None:
        return None if value is None else load(value, cls)

    return optional


def _transform_hooks(
    transforms: Transforms | None,
) -> tuple[dict[Any, Callable[[Any], Any]], dict[Any, Callable[[Any, Any], Any]]]:
    attribute_in = _attribute_in(transforms)
    return (
        {Attribute: _attribute_out(transforms)},
        {Attribute: attribute_in, Attribute | None: _optional(attribute_in)},
    )


def _mapping_overrides(conv: cattrs.Converter) -> dict[str, Any]:
    def attribute_out(attribute: Attribute) -> object:
        return conv.unstructure(attribute, Attribute)

    def attribute_in(value: object) -> Attribute | str:
        loaded: Attribute | str = conv.structure(value, Attribute)
        return loaded

    def fields_out(pairs: tuple[tuple[str | int, Attribute], ...]) -> list[dict[str, object]]:
        return [{"field": ref, "attribute": attribute_out(attribute)} for ref, attribute in pairs]

    def fields_in(value: object, _: object) -> tuple[tuple[object, Attribute | str], ...]:
        if not isinstance(value, list):
            msg = f"The stored mapping fields must be a list, not {type(value).__name__}."
            raise FieldMappingError(msg)
        out = []
        for entry in value:
            if not isinstance(entry, Mapping) or set(entry) != {"field", "attribute"}:
                msg = f"A stored field entry must be {{'field': ..., 'attribute': ...}}: {entry!r}."
                raise FieldMappingError(msg)
            out.append((entry["field"], attribute_in(entry["attribute"])))
        return tuple(out)

    def tags_in(value: object, _: object) -> tuple[TagRule, ...]:
        if not isinstance(value, list):
            msg = f"The stored mapping tags must be a list, not {type(value).__name__}."
            raise FieldMappingError(msg)
        return tuple(_tag_rule(conv, entry) for entry in value)

    return {
        "fields": override(unstruct_hook=fields_out, struct_hook=fields_in),
        "tags": override(struct_hook=tags_in),
    }


def _tag_rule(conv: cattrs.Converter, entry: object) -> TagRule:
    try:
        rule: TagRule = conv.structure(entry, TagRule)  # type: ignore[arg-type]
    except (
        cattrs.BaseValidationError,
        cattrs.ForbiddenExtraKeysError,
        LookupError,
        TypeError,
        AttributeError,
    ):
        msg = (
            "A stored tag rule must be {'type': 'flag', 'attribute', 'tag'} or "
            f"{{'type': 'value', 'attribute', 'prefix'}}, not {entry!r}."
        )
        raise FieldMappingError(msg) from None
    return rule


def _destination_overrides(conv: cattrs.Converter) -> dict[str, Any]:
    def mapping_out(mapping: FieldMapping) -> object:
        return conv.unstructure(mapping, FieldMapping)

    return {"mapping": override(unstruct_hook=mapping_out)}


def _register() -> None:
    # The models' own converters read these, with their messages.
    convert.register_enums(Audience, Role, ExportMode, checked=False)
    out, load = _transform_hooks(None)
    for cls, hook in out.items():
        convert.converter.register_unstructure_hook(cls, hook)
    for cls, in_hook in load.items():
        convert.converter.register_structure_hook(cls, in_hook)
    convert.register_class(Actor, name="actor")
    convert.register_class(
        Consent,
        name="consent",
        overrides=lambda _: {
            "revoked_by": override(omit_if_default=True),
            "revoked_at": override(omit_if_default=True),
        },
    )
    convert.register_class(Connection, name="connection", version=SCHEMA_VERSION)
    convert.register_tagged_union(
        TagRule, tag_name="type", tags={FlagTag: "flag", ValueTag: "value"}
    )
    convert.register_class(
        FieldMapping, name="mapping", omit_if_default=True, overrides=_mapping_overrides
    )
    convert.register_class(
        ExportDestination,
        name="destination",
        version=SCHEMA_VERSION,
        overrides=_destination_overrides,
    )


_register()


def _load(conv: cattrs.Converter, data: object, cls: type[Any], what: str) -> Any:
    try:
        return conv.structure(data, cls)
    except ConfigurationError:
        raise
    except (cattrs.BaseValidationError, cattrs.ForbiddenExtraKeysError) as exc:
        msg = f"Cannot load the stored {what}: {exc}."
        raise ConfigurationError(msg) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        msg = f"Cannot load the stored {what}: {type(exc).__name__}: {exc}."
        raise ConfigurationError(msg) from None


def _key_hooks(
    *, include_secrets: bool, api_key_env: str | None, api_key_ref: str | None
) -> dict[Any, Callable[[Any], Any]]:
    return {Secret: _secret_out(_KeyOut(include_secrets, api_key_env, api_key_ref))}


def connection_to_dict(
    connection: Connection,
    *,
    include_secrets: bool = False,
    api_key_env: str | None = None,
    api_key_ref: str | None = None,
) -> dict[str, Any]:
    """See :meth:`Connection.to_dict`."""
    conv = convert.derive(
        unstructure=_key_hooks(
            include_secrets=include_secrets, api_key_env=api_key_env, api_key_ref=api_key_ref
        )
    )
    data: dict[str, Any] = conv.unstructure(connection, Connection)
    return data


def connection_from_dict(
    data: Mapping[str, Any],
    *,
    api_key: str | Secret | None = None,
    secret_provider: SecretProvider | None = None,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """See :meth:`Connection.from_dict`."""
    conv = convert.derive(structure={Secret: _secret_in(_KeyIn(api_key, secret_provider, environ))})
    result: Connection = _load(conv, data, Connection, "connection")
    return result


def mapping_to_dict(
    mapping: FieldMapping, *, transforms: Transforms | None = None
) -> dict[str, Any]:
    """A :class:`FieldMapping` as plain data (transforms by their names in *transforms*)."""
    out, _ = _transform_hooks(transforms)
    data: dict[str, Any] = convert.derive(unstructure=out).unstructure(mapping, FieldMapping)
    return data


def mapping_from_dict(
    data: Mapping[str, Any], *, transforms: Transforms | None = None
) -> FieldMapping:
    """A :class:`FieldMapping` from :func:`mapping_to_dict`'s data."""
    _, load = _transform_hooks(transforms)
    result: FieldMapping = _load(convert.derive(structure=load), data, FieldMapping, "mapping")
    return result


def destination_to_dict(
    destination: ExportDestination,
    *,
    include_connection: bool = True,
    include_secrets: bool = False,
    api_key_env: str | None = None,
    api_key_ref: str | None = None,
    transforms: Transforms | None = None,
) -> dict[str, Any]:
    """See :meth:`ExportDestination.to_dict`."""
    if not isinstance(destination.mapping, FieldMapping):
        msg = (
            f"Destination {destination.name!r} uses a custom FieldMapper "
            f"({type(destination.mapping).__name__}), which is code and cannot be serialized; "
            "store a FieldMapping, or store the rest and supply the mapper yourself."
        )
        raise FieldMappingError(msg)
    out = {
        **_key_hooks(
            include_secrets=include_secrets, api_key_env=api_key_env, api_key_ref=api_key_ref
        ),
        **_transform_hooks(transforms)[0],
    }
    if not include_connection:
        out[Connection] = _nothing
    data: dict[str, Any] = convert.derive(unstructure=out).unstructure(
        destination, ExportDestination
    )
    return data


def _nothing(_: object) -> None:
    return None


_DESTINATION_KEYS = frozenset(
    {"version", "connection", "name", "list_id", "mapping", "tags", "run_automations", "mode"}
)


def destination_from_dict(
    data: Mapping[str, Any],
    *,
    connection: Connection | None = None,
    api_key: str | Secret | None = None,
    secret_provider: SecretProvider | None = None,
    environ: Mapping[str, str] | None = None,
    transforms: Transforms | None = None,
) -> ExportDestination:
    """See :meth:`ExportDestination.from_dict`.

    The mapping is read first, then the connection (given, or stored), then the destination
    around them: each part's errors name the part.
    """
    raw: object = data
    if not isinstance(raw, Mapping):
        msg = f"A stored destination must be a mapping, not {type(raw).__name__}."
        raise ConfigurationError(msg)
    extra = sorted(set(data) - _DESTINATION_KEYS)
    missing = sorted({"name", "list_id", "mapping"} - set(data))
    if extra or missing:
        parts = [f"unknown keys {extra}"] if extra else []
        parts += [f"missing keys {missing}"] if missing else []
        msg = f"Cannot load the stored destination: {', '.join(parts)}."
        raise ConfigurationError(msg)
    mapping = mapping_from_dict(data["mapping"], transforms=transforms)
    if connection is None:
        stored = data.get("connection")
        if stored is None:
            msg = (
                "The stored destination has no connection (it was saved with "
                "include_connection=False); pass connection= to from_dict()."
            )
            raise ConfigurationError(msg)
        connection = connection_from_dict(
            stored, api_key=api_key, secret_provider=secret_provider, environ=environ
        )
    conv = convert.derive(
        structure={
            Connection: _given(connection),
            attrs.fields(ExportDestination).mapping.type: _given(mapping),
        }
    )
    result: ExportDestination = _load(conv, data, ExportDestination, "destination")
    return result


def _given(value: object) -> Callable[[object, object], object]:
    return lambda _, __: value


def load_json(text: str | bytes, what: str) -> dict[str, Any]:
    """Decode stored JSON into a dict, with an error that says what could not be read."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        msg = f"The stored {what} is not valid JSON: {exc}."
        raise ConfigurationError(msg) from None
    if not isinstance(data, dict):
        msg = f"The stored {what} must be a JSON object, not {type(data).__name__}."
        raise ConfigurationError(msg)
    return data

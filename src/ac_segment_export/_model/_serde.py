"""Plain-data (dict / JSON) forms of connections and destinations, through a private converter.

The stored shapes (``version`` 1)::

    connection:  {"version": 1, "display_name": str, "host": str,
                  "api_key": None | {"env": NAME} | {"ref": REF} | {"value": KEY},
                  "usable_by": "admins" | "admins_and_contributors",
                  "consent": None | {"accepted_by": str, "accepted_at": ISO-8601 UTC,
                                     "terms_version": str},
                  "export_user": None | str}
    destination: {"version": 1, "connection": <connection> | None, "name": str,
                  "list_id": int, "mapping": <mapping>, "tags": [str],
                  "run_automations": bool, "mode": "upsert" | "mirror"}
    mapping:     {"email": <attr>, "first_name"?: <attr>, "last_name"?: <attr>,
                  "phone"?: <attr>, "fields"?: [{"field": str | int, "attribute": <attr>}],
                  "tags"?: [{"type": "flag", "attribute": <attr>, "tag": str}
                            | {"type": "value", "attribute": <attr>, "prefix": str}]}
    <attr>:      "AttributeName" | {"name": str, "transform": TRANSFORM_NAME}

The key's value is written only on request (``include_secrets=True``); transforms are written
by the name the caller gives them, because a callable cannot be stored.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ac_segment_export._core.errors import ConfigurationError, FieldMappingError
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
from ac_segment_export._model._roles import Audience, Role

if TYPE_CHECKING:
    import enum
    from collections.abc import Iterator

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


def _as_is(value: object, _: object) -> object:
    return value


def _enum_out(value: enum.Enum) -> object:
    return value.value


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
                raise ConfigurationError(msg)
            return Secret(found)
        if kind == "ref":
            if key.provider is None:
                msg = (
                    f"The connection's API key is stored as reference {value!r}; pass "
                    "secret_provider= (a callable taking the reference, returning the key)."
                )
                raise ConfigurationError(msg)
            try:
                provided = key.provider(value)
            except Exception as exc:
                msg = f"The secret provider failed for reference {value!r} ({type(exc).__name__})."
                raise ConfigurationError(msg) from exc
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


@attrs.frozen
class _Options:
    key_out: _KeyOut = _KeyOut()
    key_in: _KeyIn = _KeyIn()
    transforms: Transforms | None = None


# The converter is built once; what varies per call (how to store the key, where to find it,
# the transforms registry) reaches its hooks through this context variable, which is safe
# across threads and tasks.
_options: contextvars.ContextVar[_Options | None] = contextvars.ContextVar(
    "ac_segment_export_serde_options", default=None
)
_DEFAULT_OPTIONS = _Options()


def _current() -> _Options:
    return _options.get() or _DEFAULT_OPTIONS


@contextlib.contextmanager
def _using(options: _Options) -> Iterator[cattrs.Converter]:
    token = _options.set(options)
    try:
        yield _CONVERTER
    finally:
        _options.reset(token)


def _attr_out(attribute: Attribute) -> object:
    return _attribute_out(_current().transforms)(attribute)


def _attr_in(value: object, cls: object) -> Attribute | str:
    return _attribute_in(_current().transforms)(value, cls)


def _hook_secret_out(secret: Secret) -> dict[str, str] | None:
    return _secret_out(_current().key_out)(secret)


def _hook_secret_in(entry: object, cls: object) -> Secret:
    return _secret_in(_current().key_in)(entry, cls)


def _build() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=False)
    # Stored as their plain string values; loaded through the models' converters (and their
    # messages). Registered per class: as ``str`` subclasses they would pass through as is.
    for cls in (Audience, Role, ExportMode):
        conv.register_unstructure_hook(cls, _enum_out)
        conv.register_structure_hook(cls, _as_is)
    conv.register_unstructure_hook(dt.datetime, _datetime_out)
    conv.register_structure_hook(dt.datetime, _datetime_in)
    conv.register_unstructure_hook(Secret, _hook_secret_out)
    conv.register_structure_hook(Secret, _hook_secret_in)

    attr_out, attr_in = _attr_out, _attr_in
    conv.register_unstructure_hook(Attribute, attr_out)
    conv.register_structure_hook(Attribute, attr_in)

    def optional_attr_in(value: object, _: object) -> Attribute | str | None:
        return None if value is None else attr_in(value, _)

    conv.register_structure_hook(Attribute | None, optional_attr_in)

    def fields_out(pairs: tuple[tuple[str | int, Attribute], ...]) -> list[dict[str, object]]:
        return [{"field": ref, "attribute": attr_out(attribute)} for ref, attribute in pairs]

    def fields_in(value: object, _: object) -> tuple[tuple[object, Attribute | str], ...]:
        if not isinstance(value, list):
            msg = f"The stored mapping fields must be a list, not {type(value).__name__}."
            raise FieldMappingError(msg)
        out = []
        for entry in value:
            if not isinstance(entry, Mapping) or set(entry) != {"field", "attribute"}:
                msg = f"A stored field entry must be {{'field': ..., 'attribute': ...}}: {entry!r}."
                raise FieldMappingError(msg)
            out.append((entry["field"], attr_in(entry["attribute"], Attribute)))
        return tuple(out)

    def tags_out(rules: tuple[TagRule, ...]) -> list[dict[str, object]]:
        return [
            {"type": "flag", "attribute": attr_out(rule.attribute), "tag": rule.tag}
            if isinstance(rule, FlagTag)
            else {"type": "value", "attribute": attr_out(rule.attribute), "prefix": rule.prefix}
            for rule in rules
        ]

    def tags_in(value: object, _: object) -> tuple[TagRule, ...]:
        if not isinstance(value, list):
            msg = f"The stored mapping tags must be a list, not {type(value).__name__}."
            raise FieldMappingError(msg)
        out: list[TagRule] = []
        for entry in value:
            kind = entry.get("type") if isinstance(entry, Mapping) else None
            if kind == "flag" and set(entry) == {"type", "attribute", "tag"}:
                out.append(FlagTag(attr_in(entry["attribute"], Attribute), entry["tag"]))
            elif kind == "value" and set(entry) == {"type", "attribute", "prefix"}:
                out.append(ValueTag(attr_in(entry["attribute"], Attribute), entry["prefix"]))
            else:
                msg = (
                    "A stored tag rule must be {'type': 'flag', 'attribute', 'tag'} or "
                    f"{{'type': 'value', 'attribute', 'prefix'}}, not {entry!r}."
                )
                raise FieldMappingError(msg)
        return tuple(out)

    conv.register_unstructure_hook(
        Consent,
        make_dict_unstructure_fn(
            Consent,
            conv,
            revoked_by=override(omit_if_default=True),
            revoked_at=override(omit_if_default=True),
        ),
    )
    conv.register_unstructure_hook(
        FieldMapping,
        make_dict_unstructure_fn(
            FieldMapping,
            conv,
            _cattrs_omit_if_default=True,
            fields=override(unstruct_hook=fields_out),
            tags=override(unstruct_hook=tags_out),
        ),
    )
    conv.register_structure_hook(
        FieldMapping,
        make_dict_structure_fn(
            FieldMapping,
            conv,
            _cattrs_forbid_extra_keys=True,
            fields=override(struct_hook=fields_in),
            tags=override(struct_hook=tags_in),
        ),
    )
    return conv


_CONVERTER = _build()


def _pop_version(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        msg = f"A stored {what} must be a mapping, not {type(data).__name__}."
        raise ConfigurationError(msg)
    out = dict(data)
    version = out.pop("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        msg = f"The stored {what} has version {version!r}; this library reads {SCHEMA_VERSION}."
        raise ConfigurationError(msg)
    return out


def _structure(conv: cattrs.Converter, data: Mapping[str, Any], cls: type[Any], what: str) -> Any:
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


def connection_to_dict(
    connection: Connection,
    *,
    include_secrets: bool = False,
    api_key_env: str | None = None,
    api_key_ref: str | None = None,
) -> dict[str, Any]:
    """See :meth:`Connection.to_dict`."""
    key = _KeyOut(include_secrets, api_key_env, api_key_ref)
    _secret_out(key)  # checks the options even when there is nothing to store
    with _using(_Options(key_out=key)) as conv:
        data: dict[str, Any] = conv.unstructure(connection)
    return {"version": SCHEMA_VERSION, **data}


def connection_from_dict(
    data: Mapping[str, Any],
    *,
    api_key: str | Secret | None = None,
    secret_provider: SecretProvider | None = None,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """See :meth:`Connection.from_dict`."""
    with _using(_Options(key_in=_KeyIn(api_key, secret_provider, environ))) as conv:
        result: Connection = _structure(
            conv, _pop_version(data, "connection"), Connection, "connection"
        )
    return result


def mapping_to_dict(
    mapping: FieldMapping, *, transforms: Transforms | None = None
) -> dict[str, Any]:
    """A :class:`FieldMapping` as plain data (transforms by their names in *transforms*)."""
    with _using(_Options(transforms=transforms)) as conv:
        data: dict[str, Any] = conv.unstructure(mapping)
    return data


def mapping_from_dict(
    data: Mapping[str, Any], *, transforms: Transforms | None = None
) -> FieldMapping:
    """A :class:`FieldMapping` from :func:`mapping_to_dict`'s data."""
    with _using(_Options(transforms=transforms)) as conv:
        result: FieldMapping = _structure(conv, data, FieldMapping, "mapping")
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
    connection = (
        connection_to_dict(
            destination.connection,
            include_secrets=include_secrets,
            api_key_env=api_key_env,
            api_key_ref=api_key_ref,
        )
        if include_connection
        else None
    )
    return {
        "version": SCHEMA_VERSION,
        "connection": connection,
        "name": destination.name,
        "list_id": destination.list_id,
        "mapping": mapping_to_dict(destination.mapping, transforms=transforms),
        "tags": list(destination.tags),
        "run_automations": destination.run_automations,
        "mode": destination.mode.value,
    }


_DESTINATION_KEYS = frozenset(
    {"connection", "name", "list_id", "mapping", "tags", "run_automations", "mode"}
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
    """See :meth:`ExportDestination.from_dict`."""
    body = _pop_version(data, "destination")
    extra = sorted(set(body) - _DESTINATION_KEYS)
    missing = sorted({"name", "list_id", "mapping"} - set(body))
    if extra or missing:
        parts = [f"unknown keys {extra}"] if extra else []
        parts += [f"missing keys {missing}"] if missing else []
        msg = f"Cannot load the stored destination: {', '.join(parts)}."
        raise ConfigurationError(msg)
    mapping = mapping_from_dict(body["mapping"], transforms=transforms)
    if connection is None:
        stored = body.get("connection")
        if stored is None:
            msg = (
                "The stored destination has no connection (it was saved with "
                "include_connection=False); pass connection= to from_dict()."
            )
            raise ConfigurationError(msg)
        connection = connection_from_dict(
            stored, api_key=api_key, secret_provider=secret_provider, environ=environ
        )
    return ExportDestination(
        connection,
        body["name"],
        body["list_id"],
        mapping,
        tags=body.get("tags", ()),
        run_automations=body.get("run_automations", False),
        mode=body.get("mode", "upsert"),
    )


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

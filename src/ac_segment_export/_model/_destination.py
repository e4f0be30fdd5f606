"""``ExportDestination``: the "configure an export" step, and its validation against the account."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ac_segment_export._core.errors import ConfigurationError, FieldMappingError, NotFoundError
from ac_segment_export._core.wire import CustomField, MailingList  # noqa: TC001 - resolved at runtime
from ac_segment_export._model._connection import Connection
from ac_segment_export._model._mapping import FieldMapper, FieldMapping

if TYPE_CHECKING:
    from ac_segment_export._client import AsyncClient, Client
    from ac_segment_export._core.secrets import Secret
    from ac_segment_export._model._roles import Actor

__all__ = ["ExportDestination", "ExportMode", "ResolvedDestination"]

logger = logging.getLogger("ac_segment_export")

_MAX_NAME = 256
_MAX_TAG = 255


class ExportMode(str, enum.Enum):
    """How an export treats the list (the exporter implements both).

    ``UPSERT`` adds and updates the segment's contacts and leaves everyone else alone.
    ``MIRROR`` also unsubscribes the list's active members who are not in the segment (every
    one of them, not only those an earlier export added: the list then mirrors the segment).
    Neither mode ever re-subscribes someone who unsubscribed.
    """

    UPSERT = "upsert"
    MIRROR = "mirror"


def _name(name: str) -> str:
    value: object = name  # checked for callers without type checking
    if not isinstance(value, str):
        msg = f"The destination name must be a string, not {type(value).__name__}."
        raise ConfigurationError(msg)
    text = value.strip()
    if not text:
        msg = "The destination name is blank; expected a non-blank name like 'VIP customers'."
        raise ConfigurationError(msg)
    if len(text) > _MAX_NAME:
        msg = f"The destination name is {len(text)} characters long; at most {_MAX_NAME} allowed."
        raise ConfigurationError(msg)
    return text


def _list_id(value: int | str) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        number = int(value.strip())
    if number is None or number <= 0:
        msg = (
            f"list_id {value!r} is not a list ID; expected a positive integer (the ID shown in "
            "the list's URL in ActiveCampaign, e.g. 7)."
        )
        raise ConfigurationError(msg)
    return number


def _connection(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Connection):
        msg = f"connection must be a Connection, not {type(value).__name__}."
        raise ConfigurationError(msg)


def _mapping(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, (FieldMapping, FieldMapper)):
        msg = (
            f"mapping must be a FieldMapping (or your own FieldMapper), not {type(value).__name__}."
        )
        raise FieldMappingError(msg)


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    value: object = tags  # checked for callers without type checking
    if isinstance(value, str) or not isinstance(value, Iterable):
        msg = f"tags must be a sequence of tag names, not {value!r}."
        raise ConfigurationError(msg)
    out: dict[str, None] = {}
    tag: object
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            msg = f"Tag {tag!r} is not a tag name; expected non-blank strings."
            raise ConfigurationError(msg)
        if len(tag.strip()) > _MAX_TAG:
            msg = f"Tag {tag[:20]!r}... is longer than {_MAX_TAG} characters."
            raise ConfigurationError(msg)
        out[tag.strip()] = None
    return tuple(out)


def _run_automations(flag: bool) -> bool:  # noqa: FBT001 - an attrs converter
    value: object = flag  # checked for callers without type checking
    if not isinstance(value, bool):
        msg = f"run_automations must be True or False, not {value!r}."
        raise ConfigurationError(msg)
    return value


def _sync_mode(value: ExportMode | Literal["upsert", "mirror"]) -> ExportMode:
    try:
        return ExportMode(value)
    except ValueError:
        msg = f"mode {value!r} is not an export mode; expected upsert or mirror."
        raise ConfigurationError(msg) from None


@attrs.frozen
class ExportDestination:
    """Where and how a segment is exported: a list of one connection's account, and a mapping.

    Creating or saving a destination never runs an export; exports run on demand (the
    exporter), or when a saved export is due (:meth:`Workspace.run_due`, called by the
    host's scheduler; re-running is safe).

    Args:
        connection: The :class:`Connection` to export through.
        name: How the platform shows the export; trimmed, 1-256 characters.
        list_id: The ActiveCampaign list's ID, a positive integer.
        mapping: A :class:`FieldMapping`, or your own :class:`FieldMapper` (which then gets
            no field validation and cannot be serialized).
        tags: Tags added to every exported contact.
        run_automations: Whether ActiveCampaign automations run on import. Off by default:
            a bulk backfill with automations on can e-mail thousands of people.
        mode: :attr:`ExportMode.UPSERT` (default) or :attr:`ExportMode.MIRROR`.

    Raises:
        ConfigurationError: An argument is invalid; the message says what is expected.
    """

    connection: Connection = attrs.field(validator=_connection)
    name: str = attrs.field(converter=_name)
    list_id: int = attrs.field(converter=_list_id)
    mapping: FieldMapping | FieldMapper = attrs.field(validator=_mapping)
    tags: tuple[str, ...] = attrs.field(default=(), kw_only=True, converter=_tags)
    run_automations: bool = attrs.field(default=False, kw_only=True, converter=_run_automations)
    mode: ExportMode = attrs.field(default=ExportMode.UPSERT, kw_only=True, converter=_sync_mode)

    @classmethod
    def create(
        cls,
        actor: Actor,
        connection: Connection,
        name: str,
        list_id: int,
        mapping: FieldMapping | FieldMapper,
        *,
        tags: Sequence[str] = (),
        run_automations: bool = False,
        mode: ExportMode = ExportMode.UPSERT,
    ) -> ExportDestination:
        """Create a destination on behalf of *actor*, checking they may use the connection.

        Raises:
            PermissionDeniedError: *actor* may not use the connection.
            ConfigurationError: An argument is invalid.
        """
        connection.check_use(actor)
        return cls(
            connection,
            name,
            list_id,
            mapping,
            tags=tags,
            run_automations=run_automations,
            mode=mode,
        )

    def check_use(self, actor: Actor) -> None:
        """Check that *actor* may run this export (their role against ``usable_by``).

        Raises:
            PermissionDeniedError: They may not.
        """
        self.connection.check_use(actor)

    def preflight(self, actor: Actor | None = None) -> None:
        """Everything that must hold before profile data is sent, checked without I/O.

        The exporter calls this first: the connection's consent, and the actor's right to use
        the connection when an actor is given.

        Raises:
            PermissionDeniedError: *actor* may not use the connection.
            ConsentRequiredError: The connection has no (or a revoked) consent.
        """
        if actor is not None:
            self.check_use(actor)
        self.connection.require_consent()

    def with_connection(self, connection: Connection) -> ExportDestination:
        """This destination through another (e.g. a re-loaded or re-consented) connection."""
        return attrs.evolve(self, connection=connection)

    # -- validation against the account ------------------------------------------------------

    def _list_not_found(self, exc: NotFoundError) -> NotFoundError:
        return NotFoundError(
            f"List {self.list_id} does not exist in the ActiveCampaign account at "
            f"{self.connection.host} (destination {self.name!r}); check the list ID under "
            "Contacts > Lists.",
            method=exc.method,
            url=exc.url,
            status_code=exc.status_code,
            body=exc.body,
            errors=exc.errors,
        )

    def resolve(
        self, mailing_list: MailingList, fields: Iterable[CustomField] = ()
    ) -> ResolvedDestination:
        """Resolve against account data already fetched (no I/O); :meth:`validate` uses it.

        Args:
            mailing_list: The destination's list, as the account returned it.
            fields: Every custom field of the account (all pages).

        Raises:
            ConfigurationError: *mailing_list* is not the destination's list.
            FieldMappingError: A mapped custom field is unknown or ambiguous.
        """
        if mailing_list.id != self.list_id:
            msg = f"List {mailing_list.id} is not this destination's list {self.list_id}."
            raise ConfigurationError(msg)
        mapper: FieldMapper
        if isinstance(self.mapping, FieldMapping):
            resolved_mapper = self.mapping.resolve(fields)
            mapper = resolved_mapper
            resolved = tuple(field for field, _ in resolved_mapper.fields)
        else:
            mapper, resolved = self.mapping, ()
        logger.debug(
            "Destination %r validated: list %d %r, %d custom fields",
            self.name,
            mailing_list.id,
            mailing_list.name,
            len(resolved),
        )
        return ResolvedDestination(self, mailing_list, resolved, mapper)

    def _needs_fields(self) -> bool:
        return isinstance(self.mapping, FieldMapping) and bool(self.mapping.fields)

    def validate(self, client: Client | None = None) -> ResolvedDestination:
        """Check the destination against the account before any data moves.

        Reads the list (``GET /lists/{id}``) and, when the mapping has custom fields, every
        page of ``/fields``. No profile data is sent, so no consent is needed.

        Args:
            client: A client for the destination's connection (from
                :meth:`Connection.client`); it is not closed. By default
                ``connection.client()`` is built, used and closed.

        Returns:
            The resolved destination: the list (with its name) and the mapper.

        Raises:
            NotFoundError: The list does not exist; the message names its ID.
            FieldMappingError: A mapped custom field is unknown or ambiguous.
            AuthenticationError: The key was refused.
            ConfigurationError: *client* is for another host or key.
        """
        if client is None:
            with self.connection.client() as own:
                return self.validate(own)
        self.connection.check_client(client)
        try:
            mailing_list = client.lists.get(self.list_id)
        except NotFoundError as exc:
            raise self._list_not_found(exc) from exc
        fields = list(client.fields.iterate()) if self._needs_fields() else None
        return self.resolve(mailing_list, fields or ())

    async def avalidate(self, client: AsyncClient | None = None) -> ResolvedDestination:
        """The async :meth:`validate` (by default through ``connection.async_client()``)."""
        if client is None:
            async with self.connection.async_client() as own:
                return await self.avalidate(own)
        self.connection.check_client(client)
        try:
            mailing_list = await client.lists.get(self.list_id)
        except NotFoundError as exc:
            raise self._list_not_found(exc) from exc
        fields = [f async for f in client.fields.iterate()] if self._needs_fields() else None
        return self.resolve(mailing_list, fields or ())

    # -- persistence -----------------------------------------------------------------------------

    def to_dict(
        self,
        *,
        include_connection: bool = True,
        include_secrets: bool = False,
        api_key_env: str | None = None,
        api_key_ref: str | None = None,
        transforms: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> dict[str, Any]:
        """Plain, JSON-ready data for storing this destination.

        Args:
            include_connection: Nest the connection (stored as by :meth:`Connection.to_dict`);
                when false, ``"connection"`` is ``None`` and :meth:`from_dict` needs one.
            include_secrets: See :meth:`Connection.to_dict`.
            api_key_env: See :meth:`Connection.to_dict`.
            api_key_ref: See :meth:`Connection.to_dict`.
            transforms: Names for the mapping's transforms (``{"upper": str.upper}``).
                Callables cannot be serialized: each transform is stored by its name here.

        Raises:
            FieldMappingError: A transform has no name in *transforms*, or the mapping is a
                custom :class:`FieldMapper` (code, which cannot be stored).
        """
        from ac_segment_export._model._serde import destination_to_dict  # noqa: PLC0415

        return destination_to_dict(
            self,
            include_connection=include_connection,
            include_secrets=include_secrets,
            api_key_env=api_key_env,
            api_key_ref=api_key_ref,
            transforms=transforms,
        )

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        connection: Connection | None = None,
        api_key: str | Secret | None = None,
        secret_provider: Callable[[str], str | Secret] | None = None,
        environ: Mapping[str, str] | None = None,
        transforms: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> ExportDestination:
        """Load a destination stored by :meth:`to_dict`.

        Args:
            data: The stored data.
            connection: The connection to use (required when none is nested; overrides a
                nested one).
            api_key: See :meth:`Connection.from_dict`.
            secret_provider: See :meth:`Connection.from_dict`.
            environ: See :meth:`Connection.from_dict`.
            transforms: The transforms by the names used in :meth:`to_dict`.

        Raises:
            ConfigurationError: The data is malformed or something it references is missing.
        """
        from ac_segment_export._model._serde import destination_from_dict  # noqa: PLC0415

        return destination_from_dict(
            data,
            connection=connection,
            api_key=api_key,
            secret_provider=secret_provider,
            environ=environ,
            transforms=transforms,
        )

    def to_json(self, **options: Any) -> str:
        """:meth:`to_dict` as a JSON string (same options)."""
        import json  # noqa: PLC0415

        return json.dumps(self.to_dict(**options), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, **options: Any) -> ExportDestination:
        """:meth:`from_dict` from a JSON string (same options)."""
        from ac_segment_export._model._serde import load_json  # noqa: PLC0415

        return cls.from_dict(load_json(text, "destination"), **options)


@attrs.frozen
class ResolvedDestination:
    """A destination checked against the account: what the exporter runs with.

    Attributes:
        destination: The destination that was validated.
        list: The ActiveCampaign list, with its name as the account has it.
        fields: The custom fields the mapping writes, in mapping order.
        mapper: Turns each profile into a :class:`MappedProfile` or a :class:`Rejection`.
    """

    destination: ExportDestination
    list: MailingList
    fields: tuple[CustomField, ...]
    mapper: FieldMapper = attrs.field(eq=False)

    @property
    def list_id(self) -> int:
        """The list's ID."""
        return self.list.id

    @property
    def list_name(self) -> str:
        """The list's name as the account has it."""
        return self.list.name

    @property
    def connection(self) -> Connection:
        """The destination's connection."""
        return self.destination.connection

    @property
    def tags(self) -> tuple[str, ...]:
        """The tags added to every contact (not part of each :class:`MappedProfile`)."""
        return self.destination.tags

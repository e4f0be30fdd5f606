"""``Connection`` and ``Consent``: the "set up a connection" step, with consent and permissions.

A connection holds what the platform's connection form asks for (display name, who may use
it, API key, REST endpoint hostname) plus the data-privacy consent and the export user. It is
a frozen value: every change returns a new connection. It does no I/O except in
:meth:`Connection.verify` / :meth:`Connection.averify`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ac_segment_export._core.config import ClientOptions
from ac_segment_export._core.errors import (
    ConfigurationError,
    ConsentRequiredError,
    PermissionDeniedError,
)
from ac_segment_export._core.hosts import ApiEndpoint, parse_endpoint, warn_if_app_host
from ac_segment_export._core.secrets import Secret
from ac_segment_export._model._roles import Actor, Audience

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ac_segment_export._client import AsyncClient, Client
    from ac_segment_export._core.wire import User

__all__ = ["DATA_PRIVACY_NOTICE", "DATA_PRIVACY_TERMS_VERSION", "Connection", "Consent"]

logger = logging.getLogger("ac_segment_export")

DATA_PRIVACY_TERMS_VERSION = "1"
"""The version of :data:`DATA_PRIVACY_NOTICE`, recorded in a :class:`Consent` by default."""

DATA_PRIVACY_NOTICE = (
    "Exporting a segment sends its profiles, which may contain personal data, to "
    "ActiveCampaign. The data leaves this platform's compliance boundary and is then governed "
    "by ActiveCampaign's terms and your agreement with them. You confirm that you may share "
    "this data with ActiveCampaign and that you are responsible for doing so lawfully."
)
"""The acknowledgement an admin accepts before any profile data may be sent."""

_MAX_NAME = 256

#: The options of a client built without any: the library's defaults.
DEFAULT_CLIENT_OPTIONS = ClientOptions()


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        msg = f"The {what} must be a string, not {type(value).__name__}."
        raise ConfigurationError(msg)
    text = value.strip()
    if not text:
        msg = f"The {what} is blank; expected a non-blank name."
        raise ConfigurationError(msg)
    if len(text) > _MAX_NAME:
        msg = f"The {what} is {len(text)} characters long; at most {_MAX_NAME} are allowed."
        raise ConfigurationError(msg)
    return text


# The converters' parameter types are the constructors' (attrs' type checker plugin reads
# them): what a typed caller may pass. Each still checks at run time, for untyped callers.


def _display_name(value: str) -> str:
    return _text(value, "display name")


def _accepted_by(value: str) -> str:
    return _text(value, "consent's accepted_by")


def _terms_version(value: str) -> str:
    return _text(value, "consent's terms_version")


def _accepted_at(value: dt.datetime) -> dt.datetime:
    return _utc(value)


def _utc(value: object, what: str = "accepted_at") -> dt.datetime:
    if not isinstance(value, dt.datetime):
        msg = f"{what} must be a datetime, not {type(value).__name__}."
        raise ConfigurationError(msg)
    if value.tzinfo is None or value.utcoffset() is None:
        msg = (
            f"{what} {value.isoformat()!r} has no time zone; pass a timezone-aware "
            "datetime (it is stored in UTC)."
        )
        raise ConfigurationError(msg)
    return value.astimezone(dt.timezone.utc)


def _revoked_by(value: str | None) -> str | None:
    return None if value is None else _text(value, "consent's revoked_by")


def _revoked_at(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _utc(value, "revoked_at")


def _revoked_together(consent: Consent, _: attrs.Attribute[Any], value: object) -> None:
    if (consent.revoked_by is None) != (value is None):
        msg = "A consent's revoked_by and revoked_at go together: give both or neither."
        raise ConfigurationError(msg)


def _now_utc(value: dt.datetime | None) -> dt.datetime:
    return value if value is not None else dt.datetime.now(dt.timezone.utc)


@attrs.frozen
class Consent:
    """The recorded acknowledgement that profile data may be sent to ActiveCampaign.

    A revoked consent stays on record (who gave it, and who withdrew it when) and allows
    nothing; :meth:`Connection.revoke_consent` makes one.

    Args:
        accepted_by: Who accepted (a user name or email).
        accepted_at: When, timezone-aware; stored in UTC.
        terms_version: Which version of the terms was accepted (see
            :data:`DATA_PRIVACY_TERMS_VERSION`).
        revoked_by: Who withdrew the consent, or ``None`` while it holds.
        revoked_at: When it was withdrawn, timezone-aware (stored in UTC); given together
            with *revoked_by*.

    Raises:
        ConfigurationError: A blank name or version, a naive datetime, or only one of
            *revoked_by* and *revoked_at*.
    """

    accepted_by: str = attrs.field(converter=_accepted_by)
    accepted_at: dt.datetime = attrs.field(converter=_accepted_at)
    terms_version: str = attrs.field(default=DATA_PRIVACY_TERMS_VERSION, converter=_terms_version)
    revoked_by: str | None = attrs.field(default=None, kw_only=True, converter=_revoked_by)
    revoked_at: dt.datetime | None = attrs.field(
        default=None, kw_only=True, converter=_revoked_at, validator=_revoked_together
    )

    @property
    def revoked(self) -> bool:
        """Whether the consent was withdrawn."""
        return self.revoked_at is not None


def _host(value: str | ApiEndpoint) -> str:
    endpoint = value if isinstance(value, ApiEndpoint) else parse_endpoint(value)  # masks secrets
    warn_if_app_host(endpoint)
    return str(endpoint)


def _secret(value: str | Secret) -> Secret:
    return Secret(value)


AudienceName = Literal["admins", "admins_and_contributors"]


def _audience(value: Audience | AudienceName) -> Audience:
    try:
        return Audience(value)
    except ValueError:
        allowed = ", ".join(f"Audience.{a.name}" for a in Audience)
        msg = f"usable_by {value!r} is not an audience; expected {allowed}."
        raise ConfigurationError(msg) from None


def _export_user(value: str | Actor | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, Actor):
        return value.user
    return _text(value, "export user")


def _consent(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, Consent):
        msg = (
            f"consent must be a Consent or None, not {type(value).__name__}; record it with "
            "accept_data_privacy_terms()."
        )
        raise ConfigurationError(msg)


def _check_options(options: object) -> None:
    if not isinstance(options, ClientOptions):
        msg = (
            f"Expected ClientOptions (timeout, retry, rate_limits, transport), not "
            f"{type(options).__name__}."
        )
        raise ConfigurationError(msg)


def _check_actor(actor: object) -> None:
    if not isinstance(actor, Actor):
        msg = f"Expected an Actor (the acting user and their role), not {type(actor).__name__}."
        raise ConfigurationError(msg)


_EDITABLE = ("display_name", "host", "api_key", "usable_by", "export_user")


@attrs.frozen
class Connection:
    """A connection to one ActiveCampaign account.

    Args:
        display_name: How the platform shows the connection; trimmed, 1-256 characters.
        host: The REST endpoint hostname (``acme.api-us1.com``) or the API URL from
            Settings > Developer (``https://acme.api-us1.com/api/3``); kept normalised
            (``"acme.api-us1.com"``, or ``"http://127.0.0.1:8080"`` for a loopback emulator).
        api_key: The API key (Settings > Developer), kept in a :class:`Secret`: it never
            appears in a repr, a log line, an error or serialized output.
        usable_by: Who may run exports through it: :attr:`Audience.ADMINS` (the default) or
            :attr:`Audience.ADMINS_AND_CONTRIBUTORS`.
        consent: The data-privacy consent; ``None`` until an admin calls
            :meth:`accept_data_privacy_terms`. Without it, or once it is revoked
            (:meth:`revoke_consent`), no profile data is sent.
        export_user: The identity exports through this connection run as; carried into
            every export report.

    Raises:
        ConfigurationError: Any argument is invalid; the message says what is expected.

    Permissions: contributors may run exports through a connection whose ``usable_by``
    allows them (:meth:`check_use`) but never read its key (:meth:`api_key_for`); only admins
    may change it (:meth:`edit`) or remove it (:meth:`check_remove`). These checks are for
    platforms that route their users' actions through them; code holding the object can of
    course build a new one.
    """

    display_name: str = attrs.field(converter=_display_name)
    host: str = attrs.field(converter=_host)
    api_key: Secret = attrs.field(converter=_secret)
    usable_by: Audience = attrs.field(default=Audience.ADMINS, kw_only=True, converter=_audience)
    consent: Consent | None = attrs.field(default=None, kw_only=True, validator=_consent)
    export_user: str | None = attrs.field(default=None, kw_only=True, converter=_export_user)

    # -- derived -------------------------------------------------------------------------------

    @property
    def endpoint(self) -> ApiEndpoint:
        """The parsed endpoint (scheme, host, port, base URL)."""
        return parse_endpoint(self.host)

    @property
    def has_consent(self) -> bool:
        """Whether profile data may be sent (consent recorded and not revoked)."""
        return self.consent is not None and not self.consent.revoked

    # -- consent -------------------------------------------------------------------------------

    def accept_data_privacy_terms(
        self,
        accepted_by: str | Actor,
        *,
        terms_version: str = DATA_PRIVACY_TERMS_VERSION,
        accepted_at: dt.datetime | None = None,
    ) -> Connection:
        """Record that *accepted_by* accepted :data:`DATA_PRIVACY_NOTICE`; return the result.

        Args:
            accepted_by: Who accepts: a name or email, or an :class:`Actor` (who must be an
                admin).
            terms_version: The version of the terms shown to them.
            accepted_at: When; defaults to now. Stored in UTC.

        Returns:
            This connection with the new :class:`Consent`.

        Raises:
            PermissionDeniedError: *accepted_by* is an actor who is not an admin.
        """
        if isinstance(accepted_by, Actor):
            self._require_admin(accepted_by, "accept the data-privacy terms of")
            accepted_by = accepted_by.user
        consent = Consent(accepted_by, _now_utc(accepted_at), terms_version)
        return attrs.evolve(self, consent=consent)

    def revoke_consent(
        self, revoked_by: str | Actor, *, revoked_at: dt.datetime | None = None
    ) -> Connection:
        """Withdraw the consent: no export through the returned connection sends data.

        The revocation is part of the value returned: its consent records who withdrew it
        and when, and :meth:`require_consent` refuses it. This connection (a frozen value)
        and copies of it made before (a destination holds one) are unchanged: store the
        returned connection where the connection is kept, and move destinations onto it
        (:meth:`ExportDestination.with_connection`) or load them again.

        Args:
            revoked_by: Who withdraws: a name or email, or an :class:`Actor` (who must be an
                admin).
            revoked_at: When; defaults to now. Stored in UTC.

        Returns:
            This connection with its consent marked revoked; unchanged when there is no
            consent or it was already revoked (the first revocation stays on record).

        Raises:
            PermissionDeniedError: *revoked_by* is an actor who is not an admin.
        """
        if isinstance(revoked_by, Actor):
            self._require_admin(revoked_by, "revoke the consent of")
            revoked_by = revoked_by.user
        if self.consent is None or self.consent.revoked:
            return self
        consent = attrs.evolve(self.consent, revoked_by=revoked_by, revoked_at=_now_utc(revoked_at))
        logger.info(
            "Data-privacy consent revoked for connection %r (%s)", self.display_name, self.host
        )
        return attrs.evolve(self, consent=consent)

    def require_consent(self) -> None:
        """Raise unless profile data may be sent through this connection.

        The exporter calls this before any I/O of an export, mirror or dry run (anything that
        sends or reads profile data). :meth:`verify` and :meth:`ExportDestination.validate`
        carry no profile data and do not need consent.

        Raises:
            ConsentRequiredError: No consent was recorded, or it was revoked.
        """
        if self.has_consent:
            return
        consent = self.consent
        if consent is None or consent.revoked_at is None:
            problem = "has no data-privacy consent"
        else:
            problem = (
                f"had its data-privacy consent (given by {consent.accepted_by} on "
                f"{consent.accepted_at:%Y-%m-%d}) revoked by {consent.revoked_by} on "
                f"{consent.revoked_at:%Y-%m-%d}"
            )
        msg = (
            f"Connection {self.display_name!r} {problem}. Exporting sends profiles, which may "
            f"contain personal data, to ActiveCampaign ({self.host}), outside the platform's "
            "compliance boundary; an admin must first accept the terms with "
            "connection.accept_data_privacy_terms(accepted_by=...). Nothing was sent."
        )
        raise ConsentRequiredError(msg)

    # -- the export user -------------------------------------------------------------------------

    def with_export_user(
        self, user: str | Actor | None, *, actor: Actor | None = None
    ) -> Connection:
        """Record who exports through this connection run as ("add yourself as export user").

        Args:
            user: A user name or email, an :class:`Actor` (its ``user`` is recorded), or
                ``None`` to clear it.
            actor: The acting user; when given, they must be an admin.

        Returns:
            This connection with the export user set.
        """
        if actor is not None:
            self._require_admin(actor, "change")
        return attrs.evolve(self, export_user=user)

    # -- permissions ---------------------------------------------------------------------------

    def _require_admin(self, actor: Actor, action: str) -> None:
        _check_actor(actor)
        if not actor.is_admin:
            msg = (
                f"Only admins may {action} connection {self.display_name!r}; "
                f"{actor.user} is a {actor.role.value}."
            )
            raise PermissionDeniedError(msg)

    def check_use(self, actor: Actor) -> None:
        """Check that *actor* may run exports through this connection (no I/O).

        Raises:
            PermissionDeniedError: *actor* is a contributor and the connection is usable by
                admins only.
        """
        _check_actor(actor)
        if not self.usable_by.allows(actor.role):
            msg = (
                f"{actor.user} is a {actor.role.value} and connection {self.display_name!r} is "
                "usable by admins only; an admin can open it to contributors with "
                "usable_by=Audience.ADMINS_AND_CONTRIBUTORS."
            )
            raise PermissionDeniedError(msg)

    def api_key_for(self, actor: Actor) -> Secret:
        """The API key, for an admin (contributors may use a connection but never read it).

        Raises:
            PermissionDeniedError: *actor* is not an admin.
        """
        self._require_admin(actor, "read the API key of")
        return self.api_key

    def check_remove(self, actor: Actor) -> None:
        """Check that *actor* may remove this connection (admins only).

        Raises:
            PermissionDeniedError: *actor* is not an admin.
        """
        self._require_admin(actor, "remove")

    def edit(self, actor: Actor, **changes: Any) -> Connection:
        """Return this connection changed by an admin.

        Args:
            actor: The acting user; must be an admin.
            **changes: New values for ``display_name``, ``host``, ``api_key``, ``usable_by``
                or ``export_user``, validated like the constructor's. Changing the host to a
                different endpoint drops the consent: it was given for sending data to that
                account. (Consent itself changes only through
                :meth:`accept_data_privacy_terms` and :meth:`revoke_consent`.)

        Raises:
            PermissionDeniedError: *actor* is not an admin.
            ConfigurationError: An unknown or invalid change.
        """
        self._require_admin(actor, "change")
        unknown = sorted(set(changes) - set(_EDITABLE))
        if unknown:
            hint = (
                " (use accept_data_privacy_terms() or revoke_consent())"
                if "consent" in unknown
                else ""
            )
            msg = (
                f"Cannot edit {', '.join(unknown)} of a connection{hint}; editable: "
                f"{', '.join(_EDITABLE)}."
            )
            raise ConfigurationError(msg)
        edited = attrs.evolve(self, **changes)
        if edited.host != self.host and edited.consent is not None:
            edited = attrs.evolve(edited, consent=None)
        return edited

    # -- clients and the Connect step --------------------------------------------------------------

    def client(self, options: ClientOptions = DEFAULT_CLIENT_OPTIONS) -> Client:
        """A :class:`Client` for this connection's account: the one way to build one.

        Args:
            options: How the client sends (timeout, retries, pacing, transport).

        Raises:
            ConfigurationError: *options* is not a :class:`ClientOptions`, or its transport
                is async only.
        """
        from ac_segment_export._client import Client  # noqa: PLC0415

        _check_options(options)
        return Client(
            self.endpoint,
            self.api_key,
            timeout=options.timeout,
            retry=options.retry,
            rate_limits=options.rate_limits,
            transport=options.sync_transport(),
            time_scale=options.time_scale,
        )

    def async_client(self, options: ClientOptions = DEFAULT_CLIENT_OPTIONS) -> AsyncClient:
        """An :class:`AsyncClient` for this connection's account (see :meth:`client`)."""
        from ac_segment_export._client import AsyncClient  # noqa: PLC0415

        _check_options(options)
        return AsyncClient(
            self.endpoint,
            self.api_key,
            timeout=options.timeout,
            retry=options.retry,
            rate_limits=options.rate_limits,
            transport=options.async_transport(),
            time_scale=options.time_scale,
        )

    def check_client(self, client: Client | AsyncClient) -> None:
        """Check that *client* talks to this connection's account with its key (no I/O).

        Raises:
            ConfigurationError: The client's host or key differs.
        """
        if client.endpoint != self.endpoint:
            msg = (
                f"The client talks to {client.endpoint}, but connection {self.display_name!r} "
                f"is for {self.host}; use connection.client()."
            )
            raise ConfigurationError(msg)
        if not client.uses_key(self.api_key):
            msg = (
                f"The client uses another API key than connection {self.display_name!r}; "
                "use connection.client()."
            )
            raise ConfigurationError(msg)

    def verify(self, client: Client | None = None) -> User:
        """The "Connect" step: check the key against the API and return whom it belongs to.

        Sends ``GET /users/me`` (no profile data, so no consent is needed).

        Args:
            client: A client for this connection (from :meth:`client`) to send through; it is
                not closed. By default ``self.client()`` is built, used and closed.

        Returns:
            The ActiveCampaign user the key belongs to.

        Raises:
            AuthenticationError: The key was refused; the message says where to find it.
            APIConnectionError: The host could not be reached; the message names it.
            ConfigurationError: *client* is for another host or key.
        """
        if client is None:
            with self.client() as own:
                return self.verify(own)
        self.check_client(client)
        return self._verified(client.users.me())

    async def averify(self, client: AsyncClient | None = None) -> User:
        """The async :meth:`verify` (by default through ``self.async_client()``)."""
        if client is None:
            async with self.async_client() as own:
                return await self.averify(own)
        self.check_client(client)
        return self._verified(await client.users.me())

    def _verified(self, user: User) -> User:
        logger.debug(
            "Connection %r verified: the key belongs to user #%d", self.display_name, user.id
        )
        return user

    # -- persistence -----------------------------------------------------------------------------

    def to_dict(
        self,
        *,
        include_secrets: bool = False,
        api_key_env: str | None = None,
        api_key_ref: str | None = None,
    ) -> dict[str, Any]:
        """Plain, JSON-ready data for storing this connection.

        The API key is left out unless *include_secrets* is true. Otherwise the stored
        ``api_key`` entry is a reference: ``{"env": NAME}`` (read from the environment variable
        on load), ``{"ref": REF}`` (handed to the ``secret_provider`` given on load), or
        ``None`` (the key must then be passed to :meth:`from_dict`).

        Args:
            include_secrets: Store the key itself (``{"value": KEY}``). Only for a store that
                is itself secret.
            api_key_env: The environment variable that will hold the key.
            api_key_ref: An opaque reference for your secret provider (a vault path...).
        """
        from ac_segment_export._model._serde import connection_to_dict  # noqa: PLC0415

        return connection_to_dict(
            self,
            include_secrets=include_secrets,
            api_key_env=api_key_env,
            api_key_ref=api_key_ref,
        )

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        api_key: str | Secret | None = None,
        secret_provider: Callable[[str], str | Secret] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Connection:
        """Load a connection stored by :meth:`to_dict`.

        Args:
            data: The stored data.
            api_key: The key, overriding whatever the data holds or references.
            secret_provider: Called with an ``{"ref": REF}`` entry's REF; returns the key.
            environ: Where ``{"env": NAME}`` entries are looked up (default ``os.environ``).

        Raises:
            ConfigurationError: The data is malformed, or the key cannot be found; the message
                says which entry and what was expected.
        """
        from ac_segment_export._model._serde import connection_from_dict  # noqa: PLC0415

        return connection_from_dict(
            data, api_key=api_key, secret_provider=secret_provider, environ=environ
        )

    def to_json(self, **options: Any) -> str:
        """:meth:`to_dict` as a JSON string (same options)."""
        import json  # noqa: PLC0415

        return json.dumps(self.to_dict(**options), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, **options: Any) -> Connection:
        """:meth:`from_dict` from a JSON string (same options)."""
        from ac_segment_export._model._serde import load_json  # noqa: PLC0415

        return cls.from_dict(load_json(text, "connection"), **options)

"""The library wired to an emulator in one call: its transport and its time scale, everywhere.

Talking to a time-scaled emulator takes its transport, rate limits scaled to its clock and
poll delays divided by its scale. :func:`client_options` gathers all of them into one
:class:`~ac_segment_export.ClientOptions` (the client's ``time_scale`` is what the exporter
divides its poll timing by), and :class:`EmulatedConnection` is a
:class:`~ac_segment_export.Connection` whose clients get those options, so an export that
was given no ``client=`` still talks to the emulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ac_segment_export import ClientOptions, Connection, RateLimits, RetryPolicy

if TYPE_CHECKING:
    from ac_segment_export import AsyncClient, Client

    from ._emulator import ActiveCampaignEmulator

__all__ = ["EMULATOR_HOST", "EmulatedConnection", "client_options", "in_process"]

#: The host of an in-process emulator connection: a reserved name that never resolves, so a
#: client built without the emulator's transport can reach no real account.
EMULATOR_HOST = "emulator.invalid"

_DEFAULTS = ClientOptions()


def client_options(
    emulator: ActiveCampaignEmulator,
    options: ClientOptions | None = None,
    *,
    in_process: bool = True,
) -> ClientOptions:
    """*options* with every part left at its default wired to *emulator*.

    The transport becomes the emulator's (when *in_process*), the rate limits the emulator's
    limits on its clock, the retry backoffs its seconds, and ``time_scale`` its scale.
    """
    options = options or _DEFAULTS
    scale = emulator.time_scale
    limits = emulator.limits
    changes: dict[str, Any] = {}
    if in_process and options.transport is None:
        changes["transport"] = emulator.transport()
    if options.rate_limits == _DEFAULTS.rate_limits:
        if limits.enforce_rate_limits:
            changes["rate_limits"] = RateLimits(
                requests_per_second=limits.requests_per_second,
                bulk_per_minute=limits.bulk_multi_per_minute,
                bulk_single_per_minute=limits.bulk_single_per_minute,
            ).scaled(scale)
        else:
            changes["rate_limits"] = RateLimits.unlimited()
    if options.retry == _DEFAULTS.retry and scale != 1.0:
        retry = options.retry
        changes["retry"] = RetryPolicy(
            initial_backoff=retry.initial_backoff / scale,
            max_backoff=retry.max_backoff / scale,
            jitter=retry.jitter / scale,
            bulk_rate_limit_wait=retry.bulk_rate_limit_wait / scale,
        )
    if options.time_scale == _DEFAULTS.time_scale:
        changes["time_scale"] = scale
    return attrs.evolve(options, **changes)


@attrs.frozen
class EmulatedConnection(Connection):
    """A :class:`~ac_segment_export.Connection` to an emulator (``emu.connection()``).

    Its :meth:`client` and :meth:`async_client` fill every option left at its default with
    the emulator's (:func:`client_options`), so the exporter's own client, built when no
    ``client=`` is given, talks to the emulator at its time scale. It is stored
    (``to_dict``) as a plain connection: the emulator is not part of it.
    """

    emulator: ActiveCampaignEmulator | None = attrs.field(
        default=None, kw_only=True, eq=False, repr=False
    )

    def client(self, options: ClientOptions = _DEFAULTS) -> Client:
        """A :class:`~ac_segment_export.Client` for the emulator."""
        return super().client(self._wired(options))

    def async_client(self, options: ClientOptions = _DEFAULTS) -> AsyncClient:
        """An :class:`~ac_segment_export.AsyncClient` for the emulator."""
        return super().async_client(self._wired(options))

    def _wired(self, options: ClientOptions) -> ClientOptions:
        if self.emulator is None or not isinstance(options, ClientOptions):
            return options  # the parent refuses what is not ClientOptions
        return client_options(self.emulator, options, in_process=in_process(self.host))


def in_process(host: str) -> bool:
    """Whether a connection to *host* reaches the emulator in-process (not a served URL)."""
    return not host.startswith("http://")

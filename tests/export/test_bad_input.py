"""Bad input gets a typed error up front or a per-profile rejection: never a crash half-way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ac_segment_export import (
    AsyncExporter,
    CancelToken,
    ConfigurationError,
    ExportAbortedError,
    Exporter,
    ExportOptions,
    FileCheckpoint,
    OutcomeStatus,
    RecordOutcome,
)

from .conftest import fast, profile

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from ac_segment_export import AsyncClient, Client, ExportDestination
    from ac_segment_export.testing import ActiveCampaignEmulator


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_in_flight", 0),
        ("max_in_flight", -1),
        ("max_in_flight", None),
        ("max_in_flight", 2.5),
        ("poll_interval", "2"),
        ("poll_interval", -1),
        ("poll_interval", float("nan")),
        ("first_poll_delay", float("inf")),
        ("cancel_grace", -0.5),
        ("max_batch_resubmits", -1),
        ("max_batch_wait", 0),
        ("batch_size", 1),
        ("batch_size", True),
        ("max_profiles", 0),
        ("max_unsubscribe_fraction", 1.5),
        ("max_unsubscribe_fraction", "half"),
        ("keep", "middle"),
        ("dry_run", "yes"),
        ("allow_empty", 1),
        ("exported_sink", "not callable"),
        ("on_progress", 3),
        ("mapper", object()),
        ("cancel", True),
        ("default_country_code", "UK"),
    ],
)
def test_invalid_options_are_refused_up_front(
    destination: ExportDestination, option: str, value: object
) -> None:
    arguments = {"exported_sink", "on_progress", "mapper", "cancel"}
    if option in arguments:
        with pytest.raises(ConfigurationError, match=option):
            Exporter(destination, **{option: value})
    else:
        with pytest.raises(ConfigurationError, match=option):
            ExportOptions(**{option: value})


@pytest.mark.parametrize("profiles", [None, 42, "user@example.com", b"bytes"])
def test_a_source_that_is_not_an_iterable_of_profiles_is_refused(
    destination: ExportDestination, client: Client, profiles: Any
) -> None:
    with pytest.raises(ConfigurationError, match="profiles must be an iterable"):
        Exporter(destination, client=client).run(profiles)


# -- values that cannot be sent --------------------------------------------------------------


def test_a_lone_surrogate_is_a_rejection_that_holds_no_profile_data(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    rows = [profile(i) for i in range(20)]
    rows[3]["first"] = "Ana\ud800"
    rows[4]["tier"] = "\udfff gold"
    rows[5]["last"] = "ok"
    report = Exporter(destination, client=client, options=fast()).run(rows)
    assert report.balanced
    rejected = {o.position: o for o in report.by_status(OutcomeStatus.REJECTED)}
    assert set(rejected) == {3, 4}
    assert rejected[3].field == "first_name"
    assert "lone surrogate" in (rejected[3].reason or "")
    assert "Ana" not in (rejected[3].reason or "")
    assert "gold" not in (rejected[4].reason or "")
    assert report.exported == 18
    report.to_json()  # the report itself stays serialisable
    assert "user3@example.com" not in emu.list_members(1)


def test_nan_and_wrong_types_from_a_user_mapper_are_rejections(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    resolved = destination.validate(client=client)

    class Sloppy:
        def map(self, p: Any) -> Any:
            n = int(p["email"][4:].split("@")[0])
            if n == 1:
                return None
            if n == 2:
                return "not a profile"
            mapped = resolved.mapper.map(p)
            if n == 3:
                return mapped._replace(tags=(float("nan"),))
            if n == 4:
                return mapped._replace(fields=42)
            if n == 5:
                return mapped._replace(last_name=7)
            return mapped

    rows = [profile(i) for i in range(10)]
    report = Exporter(destination, client=client, mapper=Sloppy(), options=fast()).run(rows)
    assert report.balanced
    reasons = {o.position: o.reason or "" for o in report.by_status(OutcomeStatus.REJECTED)}
    assert set(reasons) == {1, 2, 3, 4, 5}
    assert "returned NoneType" in reasons[1]
    assert "returned str" in reasons[2]
    assert reasons[3] == "a tag must be text, not float"  # NaN never reaches the encoder
    assert "wrong type" in reasons[4]  # fields=42 is not even iterable
    assert reasons[5] == "last name must be text, not int"
    assert report.exported == 5


def test_a_mapping_whose_lookups_raise_is_a_rejection(
    destination: ExportDestination, client: Client
) -> None:
    class Hostile(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            raise RuntimeError("no lookups today")

    rows: list[Any] = [profile(0), Hostile(email="x@example.com"), profile(2)]
    report = Exporter(destination, client=client, options=fast()).run(rows)
    assert report.balanced
    assert [o.position for o in report.by_status(OutcomeStatus.REJECTED)] == [1]
    assert "raised RuntimeError" in (report.outcomes[0].reason or "")


# -- a failing source or sink ends the run with a report and a checkpoint -------------------


def _failing_source(n: int, fail_at: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        if i == fail_at:
            raise ConnectionError("the database went away")
        yield profile(i)


def test_a_source_that_raises_ends_the_run_with_a_report_and_a_checkpoint(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "run.ckpt"
    with pytest.raises(ExportAbortedError) as caught:
        Exporter(destination, client=client, checkpoint=FileCheckpoint(path), options=fast()).run(
            _failing_source(3000, 1200)
        )
    error = caught.value
    assert isinstance(error.__cause__, ConnectionError)
    report = error.report
    assert report.balanced
    assert report.input_count == 1200
    assert "ConnectionError" in (report.stop_reason or "")
    # The batches sent before the error were tracked to their end, so they count.
    assert report.exported == len(emu.list_members(1)) == 1000
    assert report.counts["not_attempted"] == 200
    assert path.exists()

    again = Exporter(
        destination, client=client, checkpoint=FileCheckpoint(path), options=fast()
    ).run(_failing_source(3000, 3000))
    assert again.balanced
    assert again.exported == 3000
    assert len(emu.list_members(1)) == 3000
    assert not path.exists()


@pytest.mark.anyio
async def test_an_async_source_that_raises_ends_the_run_with_a_report(
    emu: ActiveCampaignEmulator, destination: ExportDestination, aclient: AsyncClient
) -> None:
    async def rows() -> AsyncIterator[dict[str, Any]]:
        for i in range(700):
            if i == 600:
                raise OSError("socket closed")
            yield profile(i)

    with pytest.raises(ExportAbortedError) as caught:
        await AsyncExporter(destination, client=aclient, options=fast()).run(rows())
    report = caught.value.report
    assert report.balanced
    assert report.input_count == 600
    assert report.exported == len(emu.list_members(1))


def test_a_raising_sink_ends_the_run_and_the_report_lists_what_it_missed(
    emu: ActiveCampaignEmulator, destination: ExportDestination, client: Client
) -> None:
    got: list[RecordOutcome] = []

    def sink(outcome: RecordOutcome) -> None:
        if len(got) == 300:
            raise OSError("disk full")
        got.append(outcome)

    with pytest.raises(ExportAbortedError) as caught:
        Exporter(destination, client=client, exported_sink=sink, options=fast()).run(
            profile(i) for i in range(2000)
        )
    report = caught.value.report
    assert report.balanced
    missed = report.by_status(OutcomeStatus.EXPORTED)
    assert missed  # the exported profiles the sink did not get are in the report
    assert len(got) + len(missed) == report.exported
    assert {o.position for o in got}.isdisjoint(o.position for o in missed)
    assert report.exported == len(emu.list_members(1))
    assert "exported_sink raised OSError" in (report.stop_reason or "")


def test_the_user_mapper_raising_for_every_row_rejects_every_row(
    destination: ExportDestination, client: Client
) -> None:
    class Broken:
        def map(self, p: Any) -> Any:
            raise KeyError(p.get("email"))

    report = Exporter(destination, client=client, mapper=Broken(), options=fast()).run(
        [profile(i) for i in range(5)]
    )
    assert report.counts["rejected"] == 5
    assert report.balanced


def test_cancel_is_honoured_while_draining_with_no_sleep(
    destination: ExportDestination, tmp_path: Path
) -> None:
    """poll_interval=0: no status check sleeps, yet a cancel stops the drain at once."""
    from ac_segment_export import Client, RateLimits, RetryPolicy

    from .conftest import API_KEY, HOST, make_emulator

    emu = make_emulator(time_scale=1.0)  # a batch takes seconds to end
    emu.add_list("VIP customers")
    emu.add_field("Tier", perstag="TIER")
    token = CancelToken()
    inner = emu.transport()
    checks = 0

    import httpx

    class CancelOnFirstCheck(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal checks
            if request.url.path.endswith("/import/info"):
                checks += 1
                token.cancel()
            return inner.handle_request(request)

    with Client(
        HOST,
        API_KEY,
        transport=CancelOnFirstCheck(),
        retry=RetryPolicy.for_tests(),
        rate_limits=RateLimits.unlimited(),
    ) as client:
        report = Exporter(
            destination,
            client=client,
            cancel=token,
            options=ExportOptions(first_poll_delay=0, poll_interval=0, cancel_grace=0),
        ).run([profile(i) for i in range(300)])
    assert report.stopped_early
    assert report.balanced
    assert checks <= 2  # before the fix it polled until the batch ended: thousands of checks

"""The public API written the way users write it; type-checked by mypy --strict, never run."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import ac_segment_export as acx
from ac_segment_export import ExportOptions
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator


def client_use() -> None:
    emu = ActiveCampaignEmulator(api_key="k", limits=EmulatorLimits.unlimited())
    list_id: int = emu.add_list("VIP")
    with acx.Client(
        "acme.api-us1.com",
        "k",
        transport=emu.transport(),
        retry=acx.RetryPolicy.for_tests(),
        rate_limits=acx.RateLimits(),
    ) as client:
        user: acx.User = client.users.me()
        lst: acx.MailingList = client.lists.get(list_id)
        names: list[str] = [m.name for m in client.lists.iterate()]
        contact: acx.Contact = client.contacts.sync(acx.ContactInput(email="a@example.org"))
        found: acx.Contact | None = client.contacts.find("a@example.org")
        membership: acx.ListMembership = client.memberships.subscribe(contact.id, lst.id)
        status: acx.MembershipStatus = membership.status
        fields: Iterator[acx.CustomField] = client.fields.iterate()
        queued: acx.BulkImportQueued = client.bulk_import.submit(
            [acx.BulkImportContact(email="b@example.org", subscribe=(list_id,))],
            exclude_automations=True,
        )
        info: acx.BulkImportInfo = client.bulk_import.info(queued.batch_id)
        final: bool = info.is_final
        raw: dict[str, Any] = client.request("GET", "tags")
        stats: acx.ClientStats = client.stats
        del user, names, found, status, fields, final, raw, stats


async def async_client_use() -> None:
    emu = ActiveCampaignEmulator(api_key="k")
    async with acx.AsyncClient(
        "http://127.0.0.1:8080", acx.Secret("k"), transport=emu.transport()
    ) as client:
        user: acx.User = await client.users.me()
        async for contact in client.contacts.iterate(list_id=1, status=acx.MembershipStatus.ACTIVE):
            email: str = contact.email
            del email
        del user


def options() -> None:
    policy = acx.RetryPolicy(max_rate_limit_wait=60.0)
    budget: float = policy.max_rate_limit_wait
    info = acx.BulkImportInfo(status=None, raw_status="paused")
    raw: str | None = info.raw_status
    del budget, raw


def errors() -> None:
    try:
        acx.Client("acme.api-us1.com", "k").users.me()
    except acx.AuthenticationError as exc:
        code: int = exc.status_code
        del code
    except acx.ServiceUnavailableError as exc:
        throttled: acx.RateLimitError = exc
        del throttled
    except acx.RateLimitError as exc:
        wait: float | None = exc.retry_after
        del wait
    except acx.BulkImportRejectedError as exc:
        reasons: list[str] = [f.reason for f in exc.failures]
        del reasons
    except acx.APIConnectionError as exc:
        url: str = exc.url
        unclear: bool = exc.maybe_applied
        del url, unclear
    except acx.ACSegmentExportError:
        pass


def export_use(emu: ActiveCampaignEmulator) -> acx.ExportReport:
    conn = acx.Connection(display_name="Marketing AC", host="acme.api-us1.com", api_key="k")
    conn = conn.accept_data_privacy_terms(accepted_by="ana@contoso.com")
    dest = acx.ExportDestination(
        conn,
        "VIP",
        7,
        acx.FieldMapping(email="Email", first_name="First", fields={"TIER": "Tier"}),
        mode=acx.ExportMode.MIRROR,
    )
    token = acx.CancelToken()

    def on_progress(p: acx.Progress) -> None:
        if p.eta_seconds is not None and p.eta_seconds > 3600:
            token.cancel()

    rows = csv.DictReader(io.StringIO("Email,First\nana@example.org,Ana\n"))
    report = acx.Exporter(
        dest,
        client=conn.client(acx.ClientOptions(transport=emu.transport())),
        cancel=token,
        on_progress=on_progress,
        checkpoint=acx.FileCheckpoint("run.json"),
    ).run(rows)
    counts: dict[str, int] = report.counts
    rejected: list[acx.RecordOutcome] = report.by_status(acx.OutcomeStatus.REJECTED)
    ok: bool = report.balanced
    del counts, rejected, ok
    # The type checker catches a misspelt option and a client of the wrong kind (with
    # warn_unused_ignores, an ignore that is not needed is itself an error).
    acx.Exporter(dest, batch_sise=5)  # type: ignore[call-arg]
    acx.Exporter(dest, client=conn.async_client())  # type: ignore[arg-type]
    acx.ExportOptions(keep="middle")  # type: ignore[arg-type]
    return report


async def async_export_use(dest: acx.ExportDestination) -> acx.ExportReport:
    async def rows() -> AsyncIterator[dict[str, str]]:
        yield {"Email": "ana@example.org"}

    return await acx.AsyncExporter(dest, options=ExportOptions(dry_run=True)).run(rows())


def shared_budget_use(dest: acx.ExportDestination, frame: Any) -> acx.ExportReport:
    budget: acx.RedisRateBudget = acx.RedisRateBudget.from_url("redis://localhost:6379/0")
    budget.check()
    limiter: acx.RedisRateLimiter = budget.for_account("acme.api-us1.com")
    waited: float = limiter.acquire(bulk_contacts=250)
    pacing: acx.PacingBackend = limiter
    options = acx.ClientOptions(rate_limits=budget)
    with acx.Client("acme.api-us1.com", "k", rate_limits=budget) as client:
        backend: acx.PacingBackend = client.rate_limiter
    job = acx.PartitionedExport(
        destination=acx.StoredDestination.of(dest, api_key_env="AC_API_KEY"),
        partitions=4,
        rate_budget=acx.rate_budget_from_url("redis://localhost"),
    )
    job.prepare()
    part: int = acx.partition_of("a@example.org", 4)
    result: acx.PartitionResult = job.export_partition(part, [{"email": "a@example.org"}])
    merged: acx.ExportReport = job.merge([result])
    both: acx.ExportReport = acx.ExportReport.merge([merged, result.report])
    del waited, pacing, options, backend, both
    return acx.export_dask_dataframe(frame, job)


def frame_sources(dest: acx.ExportDestination) -> None:
    import pandas as pd
    import polars as pl

    report: acx.ExportReport = acx.Exporter(dest).run(pd.DataFrame({"email": ["a@b.co"]}))
    acx.Exporter(dest).run(pl.DataFrame({"email": ["a@b.co"]}))
    acx.Exporter(dest).run([{"email": "a@b.co"}])
    acx.Exporter(dest).run("segment.csv")  # type: ignore[arg-type]
    acx.Exporter(dest).run({"email": "a@b.co"})  # type: ignore[dict-item]
    assert report.balanced
    options = acx.ExportOptions(allow_missing_columns=True)
    try:
        acx.Exporter(dest, options=options).run(pd.DataFrame())
    except acx.MissingColumnError as exc:
        missing: tuple[str, ...] = exc.missing
        closest: dict[str, str] = exc.suggestions
        print(missing, closest)
    except acx.UnsupportedSourceError as exc:
        error: TypeError = exc
        print(error)


def emulator_wiring() -> None:
    emu = ActiveCampaignEmulator(time_scale=100)
    conn: acx.Connection = emu.connection("QA", accepted_by="qa@example.org")
    client: acx.Client = emu.client()
    aclient: acx.AsyncClient = emu.async_client(acx.ClientOptions(timeout=5.0))
    scale: float = client.time_scale
    options: acx.ClientOptions = emu.client_options()
    print(conn, aclient, scale, options.time_scale)


def scheduled_runs(ws: acx.Workspace, dest: acx.ExportDestination) -> int:
    import datetime as dt

    saved: acx.SavedExport = ws.save_export(
        dest,
        schedule=acx.Schedule("30 2 * * *", "Europe/Rome"),
        source=acx.SavedSource(input="/data/vip.csv", format="csv"),
        rate_limit_url="redis://localhost:6379/0",
    )
    now = dt.datetime.now(dt.timezone.utc)
    upcoming: dt.datetime | None = saved.next_fire()
    last: dt.datetime | None = acx.Schedule("@daily").last_fire(now)
    anchor: dt.datetime | None = saved.schedule_anchor
    source: acx.SavedSource | None = saved.source

    def open_source(export: acx.SavedExport) -> list[dict[str, Any]]:
        assert export.source is not None
        return [{"email": "a@example.org"}]

    def progress(export: acx.SavedExport, update: acx.Progress) -> None:
        print(export.name, update.exported)

    due: list[acx.SavedExport] = ws.due(now=now)
    results: list[acx.DueRun] = ws.run_due(
        open_source, now=now, names=["VIP"], on_progress=progress
    )
    failed = [r for r in results if r.failed or r.outcome is acx.DueOutcome.SOURCE_ERROR]
    when: dt.datetime | None = ws.history()[0].scheduled_for
    del upcoming, last, anchor, source, due, when
    return len(failed)

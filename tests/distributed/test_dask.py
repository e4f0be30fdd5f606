"""A Dask dataframe exported on a LocalCluster of worker processes, with the real Redis."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs
import dask.dataframe as dd
import pandas as pd
import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator
from distributed import Client, LocalCluster

from . import segments

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    """Two worker processes (each its own interpreter, Redis connection and HTTP client)."""
    mp = pytest.MonkeyPatch()
    mp.setenv(segments.KEY_ENV, segments.API_KEY)  # the workers inherit it, as in production
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=True,
            host="127.0.0.1",  # loopback only, on free ports: other suites may run alongside
            scheduler_port=0,
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
    mp.undo()


def test_a_dask_dataframe_exports_with_one_balanced_report(
    dask_client: Client, make_budget: Callable[..., acx.RedisRateBudget]
) -> None:
    emu = ActiveCampaignEmulator(api_key=segments.API_KEY, time_scale=segments.SCALE)
    list_id = emu.add_list("Segment")
    rows, unique = segments.segment(1500)
    frame = pd.DataFrame(rows)
    frame.loc[3, "first"] = float("nan")  # a missing value is left out, not sent as "nan"
    ddf = dd.from_pandas(frame, npartitions=5)
    budget = make_budget(limits=acx.RateLimits().scaled(segments.SCALE))
    with emu.serve() as url:
        job = segments.job(url, list_id, budget, partitions=3)
        report = acx.export_dask_dataframe(ddf, job, client=dask_client)
    assert report.balanced, report.equation
    assert report.input_count == len(rows)
    assert report.exported == len(unique)
    assert report.counts["rejected"] == len(rows) // 25
    assert report.counts["duplicate"] == len(rows) - len(unique) - len(rows) // 25
    assert set(emu.list_members(list_id)) == unique
    pids = set(dask_client.run(os.getpid).values())  # the workers are processes of their own
    assert len(pids) == 2
    assert os.getpid() not in pids
    bulk = [r for r in emu.requests if r.path == "/import/bulk_import"]
    assert bulk
    sent = [c for r in bulk for c in (r.json or {}).get("contacts", [])]
    assert all(c.get("first_name") != "nan" for c in sent)


def test_the_budget_unreachable_stops_the_job_before_any_send(dask_client: Client) -> None:
    emu = ActiveCampaignEmulator(api_key=segments.API_KEY)
    list_id = emu.add_list("Segment")
    budget = acx.RedisRateBudget("redis://127.0.0.1:1/0", socket_timeout=0.5)
    ddf = dd.from_pandas(pd.DataFrame(segments.segment(30)[0]), npartitions=2)
    with emu.serve() as url:
        job = segments.job(url, list_id, budget, partitions=2)
        with pytest.raises(acx.RateBudgetUnavailableError):
            acx.export_dask_dataframe(ddf, job, client=dask_client)
    assert emu.requests == []


def test_a_frame_without_the_email_column_is_refused(
    dask_client: Client, make_budget: Callable[..., acx.RedisRateBudget]
) -> None:
    emu = ActiveCampaignEmulator(api_key=segments.API_KEY)
    list_id = emu.add_list("Segment")
    ddf = dd.from_pandas(pd.DataFrame({"mail": ["a@example.com"]}), npartitions=1)
    with emu.serve() as url:
        job = segments.job(url, list_id, make_budget(), partitions=2)
        with pytest.raises(acx.ConfigurationError, match="no column 'email'"):
            acx.export_dask_dataframe(ddf, job, client=dask_client)
    assert not any(r.path == "/import/bulk_import" for r in emu.requests)


def _active(emu: ActiveCampaignEmulator, list_id: int) -> set[str]:
    return {e for e, status in emu.list_members(list_id).items() if status == 1}


def _unsubscribed_by_bulk(emu: ActiveCampaignEmulator) -> set[str]:
    bulk = [r for r in emu.requests if r.path == "/import/bulk_import"]
    contacts = [c for r in bulk for c in (r.json or {}).get("contacts", [])]
    return {c["email"] for c in contacts if c.get("unsubscribe")}


def _mirror_frame(
    emu: ActiveCampaignEmulator, rows: int, leavers: int
) -> tuple[int, set[str], set[str], dd.DataFrame]:
    list_id = emu.add_list("Segment")
    data, unique = segments.segment(rows)
    out = segments.seed_members(emu, list_id, unique, leavers)
    return list_id, unique, out, dd.from_pandas(pd.DataFrame(data), npartitions=4)


def test_a_dask_mirror_unsubscribes_the_leavers_once_every_partition_is_in(
    dask_client: Client, make_budget: Callable[..., acx.RedisRateBudget]
) -> None:
    emu = ActiveCampaignEmulator(api_key=segments.API_KEY, time_scale=segments.SCALE)
    list_id, unique, leavers, ddf = _mirror_frame(emu, 900, 60)
    budget = make_budget(limits=acx.RateLimits().scaled(segments.SCALE))
    with emu.serve() as url:
        job = segments.mirror_job(url, list_id, budget, partitions=3)
        report = acx.export_dask_dataframe(ddf, job, client=dask_client)
    assert report.balanced, report.equation
    assert report.mode == "mirror"
    assert report.exported == len(unique)
    assert report.leavers == report.unsubscribed == len(leavers)
    assert report.leavers_remaining == report.leavers_unknown == 0
    assert report.mirror_problem is None
    assert _active(emu, list_id) == unique
    assert _unsubscribed_by_bulk(emu) == leavers
    # The leavers go last, after every partition's imports (one mirror step, on the driver).
    bulk = [r for r in emu.requests if r.path == "/import/bulk_import"]
    first_unsubscribe = next(i for i, r in enumerate(bulk) if "unsubscribe" in str(r.json))
    assert all("unsubscribe" in str(r.json) for r in bulk[first_unsubscribe:])


def test_a_failed_dask_partition_unsubscribes_no_one_and_says_so(
    dask_client: Client, make_budget: Callable[..., acx.RedisRateBudget]
) -> None:
    """One partition's first request fails (no retries): the others finish, no one leaves."""
    emu = ActiveCampaignEmulator(api_key=segments.API_KEY, time_scale=segments.SCALE)
    list_id, unique, leavers, ddf = _mirror_frame(emu, 600, 30)
    budget = make_budget(limits=acx.RateLimits().scaled(segments.SCALE))
    emu.queue_fault("500", count=1, path="/contacts")  # a partition's read of the members
    with emu.serve() as url:
        job = segments.mirror_job(url, list_id, budget, partitions=3)
        job = attrs.evolve(
            job,
            client_options=attrs.evolve(job.client_options, retry=acx.RetryPolicy(max_attempts=1)),
        )
        with pytest.raises(acx.ExportAbortedError, match="1 partition\\(s\\) stopped") as caught:
            acx.export_dask_dataframe(ddf, job, client=dask_client)
    report = caught.value.report
    assert report.balanced, report.equation
    assert report.stopped_early
    assert "did not finish cleanly; no one was unsubscribed" in (report.stop_reason or "")
    assert report.unsubscribed == 0
    assert report.leavers is None
    assert 0 < report.exported < len(unique)  # the other partitions exported theirs
    assert leavers <= _active(emu, list_id)
    assert _unsubscribed_by_bulk(emu) == set()


def test_a_dask_mirror_refuses_past_the_unsubscribe_fraction(
    dask_client: Client, make_budget: Callable[..., acx.RedisRateBudget]
) -> None:
    emu = ActiveCampaignEmulator(api_key=segments.API_KEY, time_scale=segments.SCALE)
    list_id, unique, leavers, ddf = _mirror_frame(emu, 100, 400)
    budget = make_budget(limits=acx.RateLimits().scaled(segments.SCALE))
    with emu.serve() as url:
        job = segments.mirror_job(url, list_id, budget, partitions=2)
        with pytest.raises(acx.MirrorRefusedError, match="max_unsubscribe_fraction") as caught:
            acx.export_dask_dataframe(ddf, job, client=dask_client)
    refused = caught.value
    assert refused.leavers == len(leavers)
    assert refused.active == len(leavers) + len(unique)
    assert refused.report.balanced
    assert refused.report.exported == len(unique)
    assert leavers <= _active(emu, list_id)
    assert _unsubscribed_by_bulk(emu) == set()

"""A Dask dataframe exported on a LocalCluster of worker processes, with the real Redis."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

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

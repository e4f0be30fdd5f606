"""A Spark dataframe exported in local mode with the real Redis (``nox -s spark``).

Not in the default suite: a Spark session needs a JVM (Java 17 is on these machines) and
half a minute to start. ``nox -s spark`` installs the ``spark`` extra and runs this module.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator

sys.path.insert(0, str(Path(__file__).parents[1] / "distributed"))
import segments
from redis_server import RedisServer

if TYPE_CHECKING:
    from collections.abc import Iterator

# The spark extra pins pandas < 3; a dev venv with pandas 3 (for Dask) only warns.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        pytest.fail("pyspark is missing: run `nox -s spark` (it installs the spark extra).")
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        pytest.fail("Spark needs Java 17: apt-get install openjdk-17-jre-headless.")
    os.environ[segments.KEY_ENV] = segments.API_KEY  # the Python workers inherit it
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # loopback only
    session = (
        SparkSession.builder.master("local[2]")
        .appName("ac-segment-export-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def test_a_spark_dataframe_exports_with_one_balanced_report(
    spark: object, redis: RedisServer
) -> None:
    emu = ActiveCampaignEmulator(api_key=segments.API_KEY, time_scale=segments.SCALE)
    list_id = emu.add_list("Segment")
    rows, unique = segments.segment(1500)
    frame = spark.createDataFrame(rows)  # type: ignore[attr-defined]
    budget = acx.RedisRateBudget(
        redis.url,
        limits=acx.RateLimits().scaled(segments.SCALE),
        key_prefix=f"spark-{uuid.uuid4().hex[:8]}",
    )
    with emu.serve() as url:
        job = segments.job(url, list_id, budget, partitions=3)
        report = acx.export_spark_dataframe(frame, job)
    budget.close()
    assert report.balanced, report.equation
    assert report.input_count == len(rows)
    assert report.exported == len(unique)
    assert report.counts["rejected"] == len(rows) // 25
    assert report.counts["duplicate"] == len(rows) - len(unique) - len(rows) // 25
    assert set(emu.list_members(list_id)) == unique


def test_a_spark_mirror_unsubscribes_the_leavers_and_a_failed_partition_stops_it(
    spark: object, redis: RedisServer
) -> None:
    """Mirror on Spark: the leavers go once every partition is in; a failure stops them all."""
    rows, unique = segments.segment(600)
    frame = spark.createDataFrame(rows)  # type: ignore[attr-defined]
    budget = acx.RedisRateBudget(
        redis.url,
        limits=acx.RateLimits().scaled(segments.SCALE),
        key_prefix=f"spark-{uuid.uuid4().hex[:8]}",
    )
    emu = ActiveCampaignEmulator(api_key=segments.API_KEY, time_scale=segments.SCALE)
    list_id = emu.add_list("Segment")
    leavers = segments.seed_members(emu, list_id, unique, 40)
    with emu.serve() as url:
        report = acx.export_spark_dataframe(frame, segments.mirror_job(url, list_id, budget, 3))
    assert report.balanced, report.equation
    assert report.exported == len(unique)
    assert report.leavers == report.unsubscribed == len(leavers)
    active = {e for e, s in emu.list_members(list_id).items() if s == 1}
    assert active == unique

    emu = ActiveCampaignEmulator(api_key=segments.API_KEY, time_scale=segments.SCALE)
    list_id = emu.add_list("Segment")
    leavers = segments.seed_members(emu, list_id, unique, 40)
    emu.queue_fault("500", count=1, path="/contacts")  # one partition's first read fails
    with emu.serve() as url:
        job = segments.mirror_job(url, list_id, budget, 3)
        job = attrs.evolve(
            job,
            client_options=attrs.evolve(job.client_options, retry=acx.RetryPolicy(max_attempts=1)),
        )
        with pytest.raises(acx.ExportAbortedError, match="1 partition\\(s\\) stopped") as caught:
            acx.export_spark_dataframe(frame, job)
    budget.close()
    stopped = caught.value.report
    assert stopped.balanced, stopped.equation
    assert "did not finish cleanly; no one was unsubscribed" in (stopped.stop_reason or "")
    assert stopped.unsubscribed == 0
    active = {e for e, s in emu.list_members(list_id).items() if s == 1}
    assert leavers <= active

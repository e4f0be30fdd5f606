"""Exporting a distributed dataframe: Dask (on a ``distributed`` cluster) and Spark.

Both follow :class:`~ac_segment_export.PartitionedExport`: the rows get their partition from
the hash of their normalised email, the engine shuffles them so each partition holds whole
email groups, each partition is exported on a worker with the shared budget, and the driver
merges the partial reports into one.
"""

from __future__ import annotations

import importlib
import math
import pickle
from typing import TYPE_CHECKING, Any

from ac_segment_export._core.errors import ConfigurationError
from ac_segment_export._distributed._partitions import (
    PartitionedExport,
    PartitionResult,
    partition_of,
    read_email,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ac_segment_export._export._report import ExportReport
    from ac_segment_export._model import Attribute

__all__ = ["export_dask_dataframe", "export_spark_dataframe"]

#: The column the partition travels in (dropped before the rows become profiles).
PARTITION_COLUMN = "__acx_partition__"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415
    except ImportError:  # pragma: no cover - a frame comes with pandas
        return False
    return value is pd.NA or value is pd.NaT


def frame_profiles(frame: Any) -> Iterator[dict[str, Any]]:
    """The rows of a pandas frame as profiles; a missing value (NaN, NA, None) is left out."""
    columns = [c for c in frame.columns if c != PARTITION_COLUMN]
    for row in frame[columns].itertuples(index=False, name=None):
        yield {str(c): v for c, v in zip(columns, row, strict=True) if not _missing(v)}


def _keys(frame: Any, attribute: Attribute, partitions: int) -> Any:
    """*frame* with the partition of each row in :data:`PARTITION_COLUMN`."""
    name = attribute.name
    if name not in frame.columns:
        msg = f"The dataframe has no column {name!r}, the mapping's email attribute."
        raise ConfigurationError(msg)
    keys = [
        partition_of(read_email({name: v}, attribute), partitions) for v in frame[name].tolist()
    ]
    return frame.assign(**{PARTITION_COLUMN: keys}).astype({PARTITION_COLUMN: "int64"})


def _export_frame(frame: Any, job: PartitionedExport, index: int) -> PartitionResult | None:
    if len(frame) == 0:
        return None
    return job._export(index, job._destination(), frame_profiles(frame))


def _finish(job: PartitionedExport, results: Iterable[PartitionResult | None]) -> ExportReport:
    done = [r for r in results if r is not None]
    if not done:
        msg = "The dataframe holds no rows: there is nothing to export."
        raise ConfigurationError(msg)
    # The engine ran every partition (or raised): one without a result was empty.
    return job._merge(done, every=())


def export_dask_dataframe(
    frame: Any, job: PartitionedExport, *, client: Any = None
) -> ExportReport:
    """Export a ``dask.dataframe.DataFrame`` in ``job.partitions`` partitions on a cluster.

    The rows are shuffled by the hash of their normalised email into ``job.partitions``
    partitions, each exported by a task on a worker (paced by ``job.rate_budget``), and the
    partial reports are merged in partition order: one balanced report of the whole frame
    (an outcome's ``position`` counts rows partition after partition). Missing values (NaN)
    are left out of the profiles. In mirror mode the driver unsubscribes the leavers once
    every partition is confirmed (see :meth:`PartitionedExport.merge`).

    Args:
        frame: The segment, one row a profile, with the mapping's attributes as columns.
        job: The partitioned export (destination factory, partitions, shared budget).
        client: The ``distributed.Client`` to run on; by default the current one.

    Raises:
        ConfigurationError: No ``dask``/``distributed`` installed (the ``dask`` extra), a
            missing email column, an empty frame.
        RateBudgetUnavailableError: The shared budget cannot be reached (before any send).
        ExportAbortedError: A partition's export stopped (then no one is unsubscribed in
            mirror mode), or the mirror step did not complete; ``report`` is the merged
            report.
        MirrorRefusedError: Mirror refused to unsubscribe the leavers (see
            :meth:`PartitionedExport.merge`); the upsert part is done.
    """
    try:
        from dask.delayed import delayed  # noqa: PLC0415

        import distributed  # noqa: PLC0415
    except ImportError as exc:
        msg = "Exporting a Dask dataframe needs pip install 'ac-segment-export[dask]'."
        raise ConfigurationError(msg) from exc
    job.prepare()
    attribute = job.email_attribute()
    meta = frame._meta.assign(**{PARTITION_COLUMN: 0}).astype({PARTITION_COLUMN: "int64"})
    keyed = frame.map_partitions(_keys, attribute, job.partitions, meta=meta)
    shuffled = keyed.shuffle(on=PARTITION_COLUMN, npartitions=job.partitions)
    tasks = [
        delayed(_export_frame, pure=False)(part, job, i)
        for i, part in enumerate(shuffled.to_delayed())
    ]
    client = client or distributed.get_client()
    futures = client.compute(tasks)
    return _finish(job, client.gather(futures))


def export_spark_dataframe(frame: Any, job: PartitionedExport) -> ExportReport:
    """Export a ``pyspark.sql.DataFrame`` in ``job.partitions`` partitions on the executors.

    The same recipe as :func:`export_dask_dataframe`: the partition of each row (the hash
    of its normalised email) is computed with a pandas UDF, the rows are repartitioned on it,
    and ``mapInPandas`` exports each Spark partition with the shared budget, streaming its
    Arrow batches into the exporter; the driver merges the reports (and, in mirror mode,
    unsubscribes the leavers once every partition is confirmed).

    Raises:
        ConfigurationError: No ``pyspark`` installed (the ``spark`` extra), a missing email
            column, an empty frame.
        RateBudgetUnavailableError: The shared budget cannot be reached (before any send).
        ExportAbortedError: A partition's export stopped (then no one is unsubscribed in
            mirror mode), or the mirror step did not complete; ``report`` is the merged
            report.
        MirrorRefusedError: Mirror refused to unsubscribe the leavers (see
            :meth:`PartitionedExport.merge`); the upsert part is done.
    """
    try:
        importlib.import_module("pyspark.sql")
    except ImportError as exc:
        msg = "Exporting a Spark dataframe needs pip install 'ac-segment-export[spark]'."
        raise ConfigurationError(msg) from exc
    job.prepare()
    attribute = job.email_attribute()
    if attribute.name not in frame.columns:
        msg = f"The dataframe has no column {attribute.name!r}, the mapping's email attribute."
        raise ConfigurationError(msg)
    partitions = job.partitions

    def keyed_batches(batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            yield _keys(batch, attribute, partitions)

    types: Any = importlib.import_module("pyspark.sql.types")
    schema = types.StructType(
        [*frame.schema.fields, types.StructField(PARTITION_COLUMN, types.LongType(), False)]
    )
    keyed = frame.mapInPandas(keyed_batches, schema).repartition(partitions, PARTITION_COLUMN)

    def export(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415

        task_context: Any = importlib.import_module("pyspark").TaskContext

        first = next(batches, None)
        if first is None:
            return
        context = task_context.get()
        index = context.partitionId() if context is not None else 0

        def profiles() -> Iterator[dict[str, Any]]:
            yield from frame_profiles(first)
            for batch in batches:
                yield from frame_profiles(batch)

        result = job._export(index, job._destination(), profiles())
        yield pd.DataFrame({"result": [pickle.dumps(result)]})

    rows = keyed.mapInPandas(export, "result binary").collect()
    return _finish(job, [pickle.loads(row["result"]) for row in rows])  # noqa: S301 - our own

"""Beyond one process: a rate budget shared through Redis, and partitioned exports (Dask, Spark)."""

from ac_segment_export._distributed._frames import export_dask_dataframe, export_spark_dataframe
from ac_segment_export._distributed._partitions import (
    PartitionedExport,
    PartitionResult,
    StoredDestination,
    partition_of,
)
from ac_segment_export._distributed._redis import (
    RedisRateBudget,
    RedisRateLimiter,
    rate_budget_from_url,
)

__all__ = [
    "PartitionResult",
    "PartitionedExport",
    "RedisRateBudget",
    "RedisRateLimiter",
    "StoredDestination",
    "export_dask_dataframe",
    "export_spark_dataframe",
    "partition_of",
    "rate_budget_from_url",
]

"""Beyond one process: a rate budget shared through Redis, and partitioned exports (Dask, Spark)."""

from ac_segment_export._distributed._redis import (
    RedisRateBudget,
    RedisRateLimiter,
    rate_budget_from_url,
)

__all__ = ["RedisRateBudget", "RedisRateLimiter", "rate_budget_from_url"]

"""A worker process for the shared-budget tests (run as a script, not collected).

``python pacing_worker.py requests BASE_URL REDIS_URL PREFIX SCALE N``: sends one ``users/me``
through a client paced by the Redis budget, prints ``ready``, waits for a line on stdin, sends
N more, then prints the client's counters as JSON.

``python pacing_worker.py hold REDIS_URL PREFIX ACCOUNT RATE N``: reserves N slots at once
from N threads and prints ``ready``; the test then kills it while it waits for them.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import ac_segment_export as acx


def requests(base_url: str, redis_url: str, prefix: str, scale: float, n: int) -> None:
    budget = acx.RedisRateBudget(
        redis_url, limits=acx.RateLimits(headroom=0.2).scaled(scale), key_prefix=prefix
    )
    retry = acx.RetryPolicy(max_attempts=1, max_rate_limit_wait=0.0)
    with acx.Client(base_url, "worker-key", rate_limits=budget, retry=retry) as client:
        refused = 0
        # One paced request opens the connection; then all workers start together (a
        # process's first request also spends its connect time after its slot: see
        # docs/distributed.md).
        try:
            client.users.me()
        except acx.RateLimitError:
            refused += 1
        print("ready", flush=True)
        sys.stdin.readline()
        for _ in range(n):
            try:
                client.users.me()
            except acx.RateLimitError:  # noqa: PERF203 - counted per request
                refused += 1
        print(json.dumps({"requests": client.stats.requests, "refused": refused}))
    budget.close()


def hold(redis_url: str, prefix: str, account: str, rate: float, n: int) -> None:
    budget = acx.RedisRateBudget(
        redis_url,
        limits=acx.RateLimits(requests_per_second=rate, headroom=0.0),
        key_prefix=prefix,
    )
    limiter = budget.for_account(account)
    threads = [threading.Thread(target=limiter.acquire, daemon=True) for _ in range(n)]
    for thread in threads:
        thread.start()
    import redis

    raw = redis.Redis.from_url(redis_url)
    key = budget.keys(account)[0]
    while float(raw.hget(key, "tokens") or 1) > 1 - n + 0.5:  # until all n are reserved
        time.sleep(0.01)
    print("ready", flush=True)
    threading.Event().wait(60)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "requests":
        requests(args[0], args[1], args[2], float(args[3]), int(args[4]))
    else:
        hold(args[0], args[1], args[2], float(args[3]), int(args[4]))

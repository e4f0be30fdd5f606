"""Run a saved export in a subprocess (the process test_crash.py kills with SIGKILL).

Usage: ``python crash_script.py '<json: path, n>'``; the workspace at *path* already holds the
export ``VIP customers``; its key is in ``ACX_TEST_WORKSPACE_KEY``.
"""

from __future__ import annotations

import json
import sys

from ac_segment_export import ClientOptions, RateLimits, RetryPolicy, Workspace


def main(options: dict[str, object]) -> int:
    n = int(options["n"])  # type: ignore[call-overload]
    profiles = [
        {"email": f"user{i}@example.com", "first": f"First{i}", "tier": "gold"} for i in range(n)
    ]
    client = ClientOptions(retry=RetryPolicy.for_tests(), rate_limits=RateLimits.unlimited())
    with Workspace(str(options["path"]), client_options=client) as ws:
        report = ws.run("VIP customers", profiles)
    print(json.dumps(report.counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))

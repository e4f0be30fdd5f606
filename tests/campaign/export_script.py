"""A small export script run in a subprocess by test_sigkill.py (the process the test kills).

Usage: ``python export_script.py '<json options>'``. It exports a deterministic segment
(``user{i}@example.com`` for i in range(n)) into a loopback emulator with a `FileCheckpoint`,
then prints one JSON line with the report's counts. Exit status: 0 when the export finished,
3 when it stopped as a whole (`ExportAbortedError`, e.g. after SIGTERM).
"""

from __future__ import annotations

import json
import sys

from ac_segment_export import (
    Client,
    Connection,
    ExportAbortedError,
    ExportDestination,
    Exporter,
    ExportMode,
    ExportOptions,
    FieldMapping,
    FileCheckpoint,
    RateLimits,
    RetryPolicy,
)


def segment(n: int) -> list[dict[str, str]]:
    return [{"email": f"user{i}@example.com", "first": f"F{i}"} for i in range(n)]


def main(options: dict[str, object]) -> int:
    base_url = str(options["base_url"])
    key = str(options["key"])
    scale = float(options["scale"])  # type: ignore[arg-type]
    mode = ExportMode.MIRROR if options.get("mirror") else ExportMode.UPSERT
    connection = Connection("Local", base_url, key).accept_data_privacy_terms(
        accepted_by="qa@example.com"
    )
    destination = ExportDestination(
        connection,
        "Campaign",
        int(options["list_id"]),  # type: ignore[call-overload]
        FieldMapping(email="email", first_name="first"),
        mode=mode,
    )
    retry = RetryPolicy(
        initial_backoff=0.005,
        max_backoff=0.05,
        jitter=0.005,
        bulk_rate_limit_wait=60.0 / scale,
        max_retry_after=2.0,
    )
    with Client(base_url, key, rate_limits=RateLimits().scaled(scale), retry=retry) as client:
        exporter = Exporter(
            destination,
            client=client,
            checkpoint=FileCheckpoint(str(options["checkpoint"])),
            options=ExportOptions(
                first_poll_delay=2.0 / scale, poll_interval=1.0 / scale, cancel_grace=0.0
            ),
        )
        try:
            report = exporter.run(segment(int(options["n"])))  # type: ignore[call-overload]
        except ExportAbortedError as exc:
            print(json.dumps({"aborted": True, "balanced": exc.report.balanced, **_figures(exc)}))
            return 3
    print(json.dumps({"aborted": False, "balanced": report.balanced, **report.counts}))
    return 0


def _figures(exc: ExportAbortedError) -> dict[str, object]:
    report = exc.report
    return {**report.counts, "stop_reason": report.stop_reason, "input": report.input_count}


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))

"""Benchmarks of the workspace: the incremental-sync diff, its memory, its bytes, history().

Run ``python bench/workspace.py [--profiles N]`` (``nox -s bench -- ...`` runs bench/run.py).
All in one process, no HTTP (canned API answers, as ``bench/run.py pipeline``):

- ``diff``: CPU µs a profile of the sync filter itself (two blake2b hashes and a look-up in
  the loaded state), measured over N real encoded contacts; and the whole engine run over N
  profiles with a loaded state in which 1% changed, against the same run without sync.
- ``rss``: peak RSS (VmHWM) of this process after loading N pairs from SQLite and running.
- ``state``: bytes on disk a contact (the SQLite file's pages over N pairs).
- ``history``: ``ws.history()`` over 10,000 runs (newest 100, all exports and one export).
- ``--x1``: a saved export's refresh of N profiles in which 1% changed, at x1 (real time)
  against an emulator with ActiveCampaign's limits, served by a child process over
  127.0.0.1. The sync state is first seeded as a confirmed full run leaves it (by the engine
  with canned answers: a full send at x1 takes about 41 minutes), so the emulator does not
  hold the unchanged contacts; the changed ones are imported for real.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import canned
from run import API_KEY, emulator_process, proc_status, profiles


def _engine_run(n: int, sync: Any, changed: set[int], *, list_id: int = 1) -> tuple[float, Any]:
    from ac_segment_export import ExportOptions, FieldMapping  # noqa: PLC0415
    from ac_segment_export._export._engine import Engine, Target  # noqa: PLC0415
    from ac_segment_export._export._report import ExportReport  # noqa: PLC0415

    resolved = FieldMapping(
        email="Email", first_name="First", last_name="Last", phone="Phone"
    ).resolve([])
    report = ExportReport(
        destination="bench", list_id=1, list_name="Bench", export_user=None, mode="upsert"
    )
    options = ExportOptions(first_poll_delay=0.0, poll_interval=0.0, check_unsubscribed=False)
    engine = Engine(Target(list_id=list_id), options, resolved, report, sync=sync)

    def source() -> Any:
        for i, row in enumerate(profiles(n)):
            yield {**row, "First": row["First"] + " changed"} if i in changed else row

    started = time.process_time()
    canned.drive(engine, source())
    return time.process_time() - started, report


def bench(n: int) -> dict[str, Any]:
    from ac_segment_export import SQLiteSyncState  # noqa: PLC0415
    from ac_segment_export._core.ops import BulkContactEncoder  # noqa: PLC0415
    from ac_segment_export._export._sync import SyncSession  # noqa: PLC0415
    from ac_segment_export._workspace._schema import connect, migrate  # noqa: PLC0415

    result: dict[str, Any] = {"profiles": n}
    folder = Path(tempfile.mkdtemp())
    path = folder / "state.db"
    db = connect(path)
    migrate(db, path)
    store = SQLiteSyncState(db, 1)
    # The state a full run leaves (written as the canned batches are confirmed).
    started = time.perf_counter()
    first_cpu, first = _engine_run(n, SyncSession(store, fingerprint="bench"), set())
    assert first.exported == n, first.counts
    result["first_run_with_state_writes_s"] = round(time.perf_counter() - started, 2)
    result["first_run_us_per_profile"] = round(first_cpu / n * 1e6, 2)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = db.execute("PRAGMA page_size").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0] * page
    result["state_bytes_per_contact"] = round(pages / n, 1)

    changed = set(random.Random(1).sample(range(n), n // 100))
    base_cpu, _ = _engine_run(n, None, set())
    started = time.perf_counter()
    session = SyncSession(store, fingerprint="bench")
    result["state_load_s"] = round(time.perf_counter() - started, 2)
    sync_cpu, sync_report = _engine_run(n, session, changed)
    assert sync_report.exported == len(changed), sync_report.counts
    assert sync_report.counts["unchanged"] == n - len(changed)
    result["engine_us_per_profile_no_sync_full_send"] = round(base_cpu / n * 1e6, 2)
    result["engine_us_per_profile_sync_1pct_changed"] = round(sync_cpu / n * 1e6, 2)
    result["sent_with_sync"] = sync_report.exported
    result["peak_rss_mb"] = round(proc_status()["VmHWM"] / 2**20, 1)

    # The filter alone, over encoded contacts like the engine's.
    encoder = BulkContactEncoder(subscribe=(1,), exclude_automations=True)
    keys = [f"customer.{i}@example.com" for i in range(n)]
    encoded = [encoder.encode(k, "Ana", "Lopez", f"+3460{i:07d}") for i, k in enumerate(keys)]
    loaded = SyncSession(_Pairs(keys, encoded), fingerprint="bench")
    unchanged = loaded.unchanged
    started = time.process_time()
    hits = sum(unchanged(k, e, i) for i, (k, e) in enumerate(zip(keys, encoded, strict=True)))
    result["diff_us_per_profile"] = round((time.process_time() - started) / n * 1e6, 3)
    assert hits == n
    db.close()
    return result


class _Pairs:
    """A SyncStateStore in memory holding the pairs of *keys* and *encoded* (for the filter)."""

    def __init__(self, keys: list[str], encoded: list[bytes]) -> None:
        from ac_segment_export._export._sync import SyncMeta, stable_hash  # noqa: PLC0415

        self._pairs = [
            (stable_hash(k.encode()), stable_hash(e)) for k, e in zip(keys, encoded, strict=True)
        ]
        self._meta = SyncMeta("bench", dt.datetime.now(dt.timezone.utc), None)

    def meta(self) -> Any:
        return self._meta

    def entries(self) -> Any:
        return self._pairs

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def bench_history(runs: int = 10_000) -> dict[str, Any]:
    from ac_segment_export import Connection, ExportDestination, FieldMapping, Workspace  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp())
    with Workspace(folder / "ws.db") as ws:
        conn = Connection("Acme", "acme.api-us1.com", "bench-key")
        ws.save_connection(conn, api_key_env="BENCH_KEY")
        for name in ("A", "B", "C", "D"):
            ws.save_export(ExportDestination(conn, name, 1, FieldMapping(email="Email")))
        report = json.dumps(
            {
                "outcomes": [
                    {
                        "position": i,
                        "email": f"u{i}@x.org",
                        "status": "rejected",
                        "reason": "bad value " * 4,
                    }
                    for i in range(20)
                ]
            }
        )
        with ws._tx() as db:
            db.executemany(
                "INSERT INTO runs (export_id, export_name, actor, started_at, finished_at, status, "
                "input, exported, unchanged, requests, duration, report) "
                "VALUES (?, ?, 'bench', '2026-01-01T00:00:00+00:00', '2026-01-01T00:01:00+00:00', "
                "'succeeded', 1000, 10, 990, 50, 60.0, ?)",
                [(i % 4 + 1, "ABCD"[i % 4], report) for i in range(runs)],
            )
        timings = {}
        for label, call in (
            ("history_all_100_ms", lambda: ws.history(limit=100)),
            ("history_one_export_100_ms", lambda: ws.history("C", limit=100)),
            ("history_one_export_1000_ms", lambda: ws.history("C", limit=1000)),
        ):
            best = min(_timed(call) for _ in range(5))
            timings[label] = round(best * 1000, 2)
    return {"runs": runs, **timings}


def bench_x1(n: int) -> dict[str, Any]:
    import os  # noqa: PLC0415

    from ac_segment_export import (  # noqa: PLC0415
        Connection,
        ExportDestination,
        Exporter,
        FieldMapping,
        SyncMeta,
        Workspace,
    )
    from ac_segment_export._export._sync import SyncSession  # noqa: PLC0415

    mapping = FieldMapping(email="Email", first_name="First", last_name="Last", phone="Phone")
    changed = set(random.Random(2).sample(range(n), n // 100))
    result: dict[str, Any] = {"profiles": n, "changed": len(changed), "scale": "x1"}
    folder = Path(tempfile.mkdtemp())
    os.environ["BENCH_AC_KEY"] = API_KEY
    with (
        emulator_process(time_scale=1.0, limits=True) as emulator,
        Workspace(folder / "ws.db") as ws,
    ):
        conn = Connection("Bench", emulator["url"], API_KEY).accept_data_privacy_terms("bench")
        destination = ExportDestination(conn, "Bench", emulator["list_id"], mapping)
        ws.save_connection(conn, api_key_env="BENCH_AC_KEY")
        ws.save_export(destination)
        store = ws.sync_state("Bench")
        fingerprint = Exporter(destination).sync_fingerprint()
        started = time.perf_counter()
        _, seeded = _engine_run(
            n, SyncSession(store, fingerprint=fingerprint), set(), list_id=emulator["list_id"]
        )
        assert seeded.exported == n
        meta = store.meta()
        assert meta is not None
        store.set_meta(SyncMeta(fingerprint, dt.datetime.now(dt.timezone.utc), None))
        result["seed_s"] = round(time.perf_counter() - started, 1)

        def segment() -> Any:
            for i, row in enumerate(profiles(n)):
                yield {**row, "First": row["First"] + " changed"} if i in changed else row

        started = time.perf_counter()
        report = ws.run("Bench", segment())
        result["run_s"] = round(time.perf_counter() - started, 1)
        assert report.exported == len(changed), report.counts
        assert report.counts["unchanged"] == n - len(changed)
        result["exported"] = report.exported
        result["unchanged"] = report.counts["unchanged"]
        result["requests"] = report.requests
        result["bulk_requests"] = report.bulk_requests
        result["rate_limited"] = report.rate_limited
        result["peak_rss_mb"] = round(proc_status()["VmHWM"] / 2**20, 1)
    return result


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--x1", action="store_true", help="only the x1 run (see above)")
    args = parser.parse_args()
    if args.x1:
        result = {"x1": bench_x1(args.profiles)}
    else:
        result = {"diff": bench(args.profiles), "history": bench_history()}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

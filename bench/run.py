"""Benchmarks of the exporter: throughput against the ceiling, CPU per profile, peak memory.

Run ``nox -s bench -- <command> [options]`` or ``python bench/run.py <command> [options]``:

- ``throughput``: an export against the emulator with ActiveCampaign's real limits, time-scaled,
  reported in emulated contacts a minute against the 25,000/min ceiling (100 bulk requests a
  minute x 250 contacts).
- ``cpu``: the exporting process's CPU time per profile, with the emulator's limits off and the
  emulator in a separate process, plus a cProfile breakdown of where that time goes.
- ``sources``: the library's CPU per profile without HTTP (as ``pipeline``) when the profiles
  come as a list of dicts (today's path) and as each frame kind the exporter reads directly
  (pandas, polars, pyarrow Table and RecordBatchReader, DuckDB), the frame's conversion
  to dicts included; and ``df.to_dict("records")`` plus the dict path, for comparison.
- ``memory``: peak RSS (VmHWM) of fresh processes exporting 100,000 and 1,000,000 streamed
  profiles, and the growth per profile between them.
- ``report``: CPU seconds to group (``reasons()``), render (``_repr_html_()``) and frame
  (``to_pandas()``, ``to_polars()``) the report of a million non-exported profiles.
- ``all``: all but ``report``, with their defaults.

Every export runs in a fresh child process (``_export``) against an emulator served by another
child process (``_serve``), both over 127.0.0.1, so neither the emulator's CPU nor the contacts
it stores count against the library. Results are printed as a table and written as JSON to
``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import itertools
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ac_segment_export import ExportOptions

if TYPE_CHECKING:
    from collections.abc import Iterator

    import ac_segment_export as acx

API_KEY = "bench-key"
CEILING_PER_MINUTE = 100 * 250  # bulk multi-contact requests a minute x contacts a request
RESULTS = Path(__file__).resolve().parent / "results"
HERE = Path(__file__).resolve()
FIRST_NAMES = ("Ana", "Ben", "Chloé", "Dev", "Eva", "Femi", "Grace", "Hiro")
LAST_NAMES = ("Ruiz", "Okafor", "Martin", "Patel", "Novak", "Adeyemi", "Hopper", "Tanaka")


# -- the source ---------------------------------------------------------------------------------


def profiles(n: int) -> Iterator[dict[str, str]]:
    """*n* distinct, valid profiles, generated one at a time (never materialised)."""
    for i in range(n):
        yield {
            "Email": f"customer.{i}@Example.com",
            "First": FIRST_NAMES[i % 8],
            "Last": LAST_NAMES[(i // 8) % 8],
            "Phone": f"+3460{i:07d}",
        }


# -- process-level measurements -------------------------------------------------------------------


def proc_status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in bytes (from /proc/self/status)."""
    out: dict[str, int] = {}
    with Path("/proc/self/status").open() as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in {"VmRSS", "VmHWM"}:
                out[key] = int(value.split()[0]) * 1024
    if not out:  # not Linux: ru_maxrss is KiB on Linux, bytes on macOS
        out["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


# -- the emulator in its own process --------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    """``_serve``: an emulator with one list, bodies not recorded; runs until stdin closes."""
    from ac_segment_export.testing import (  # noqa: PLC0415
        ActiveCampaignEmulator,
        EmulatorLimits,
        Faults,
    )

    limits = EmulatorLimits() if args.limits else EmulatorLimits.unlimited()
    emulator = ActiveCampaignEmulator(
        API_KEY,
        limits=limits,
        faults=Faults(latency=args.latency, latency_jitter=args.jitter),
        time_scale=args.time_scale,
        record_bodies=False,
    )
    list_id = emulator.add_list("Bench segment")
    with emulator.serve(0) as base_url:
        sys.stdout.write(json.dumps({"url": base_url, "list_id": list_id}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # the parent closes our stdin to stop us
    return 0


@contextlib.contextmanager
def emulator_process(
    *, time_scale: float, limits: bool, latency: float = 0.0, jitter: float = 0.0
) -> Iterator[dict[str, Any]]:
    """Start ``_serve`` in a child process; yield its URL and list ID; stop it afterwards."""
    cmd = [
        sys.executable,
        str(HERE),
        "_serve",
        "--time-scale",
        str(time_scale),
        "--latency",
        str(latency),
        "--jitter",
        str(jitter),
    ]
    if limits:
        cmd.append("--limits")
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            msg = "the emulator process exited before serving"
            raise RuntimeError(msg)
        yield json.loads(line)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=30)


# -- one export in a fresh process ------------------------------------------------------------


def export_child(args: argparse.Namespace) -> int:
    """``_export``: run one export against ``--url``; print its measurements as JSON."""
    import ac_segment_export as acx  # noqa: PLC0415
    from ac_segment_export import (  # noqa: PLC0415
        Connection,
        ExportDestination,
        Exporter,
        FieldMapping,
    )

    n, scale = args.profiles, args.time_scale
    source_cpu = None
    if args.source_cpu:  # the generator alone, so its cost can be told apart from the library's
        started = time.process_time()
        for _ in profiles(n):
            pass
        source_cpu = time.process_time() - started

    connection = Connection("bench", args.url, API_KEY).accept_data_privacy_terms(
        accepted_by="bench"
    )
    mapping = FieldMapping(email="Email", first_name="First", last_name="Last", phone="Phone")
    destination = ExportDestination(connection, "bench", args.list_id, mapping)
    rate_limits = acx.RateLimits.unlimited()
    if args.limits:  # the library's defaults, every rate multiplied by the time scale
        paced = (
            acx.RateLimits() if args.headroom is None else acx.RateLimits(headroom=args.headroom)
        )
        rate_limits = paced.scaled(scale)
    options = ExportOptions(
        first_poll_delay=args.first_poll_delay / scale, poll_interval=args.poll_interval / scale
    )

    def run(rows: Any) -> acx.ExportReport:
        if args.exporter == "sync":
            with acx.Client(args.url, API_KEY, rate_limits=rate_limits) as client:
                return Exporter(destination, client=client, options=options).run(rows)

        async def run_async() -> acx.ExportReport:
            async with acx.AsyncClient(args.url, API_KEY, rate_limits=rate_limits) as client:
                exporter = acx.AsyncExporter(destination, client=client, options=options)
                return await exporter.run(rows)

        return asyncio.run(run_async())

    split: dict[str, float] | None = None
    if args.split:
        split = {}
        instrument(split)
    before = proc_status()
    # CPU time, not cProfile's default wall clock (which would count waits on the socket).
    profiler = cProfile.Profile(time.process_time) if args.cprofile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = run(profiles(n))
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    after = proc_status()
    result: dict[str, Any] = {
        "profiles": n,
        "time_scale": scale,
        "limits": args.limits,
        "cpu_seconds": cpu,
        "source_cpu_seconds": source_cpu,
        "wall_seconds": wall,
        "elapsed_seconds": report.elapsed_seconds,
        "rss_before": before.get("VmRSS"),
        "hwm_before": before.get("VmHWM"),
        "rss_after": after.get("VmRSS"),
        "hwm_after": after["VmHWM"],
        "counts": report.counts,
        "exported": report.exported,
        "balanced": report.balanced,
        "equation": report.equation,
        "batches": report.batches,
        "requests": report.requests,
        "rate_limited": report.rate_limited,
        "retries": report.retries,
    }
    if split is not None:
        result["split"] = split
    if profiler is not None:
        result["breakdown"] = breakdown(profiler)
        profiler.dump_stats(args.cprofile)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def stages_child(args: argparse.Namespace) -> int:
    """``_stages``: each per-profile stage timed alone over the same profiles (no profiler).

    The profiles are materialised first (so the source costs nothing here); each stage then
    runs over all of them with the real objects of an export engine, and its CPU time is
    divided by the count. ``Engine._take`` is the whole per-profile path (map, validate,
    de-duplicate, encode, batch) without any request.
    """
    import ac_segment_export as acx  # noqa: PLC0415
    from ac_segment_export import (  # noqa: PLC0415
        Connection,
        ExportDestination,
        Exporter,
        FieldMapping,
    )
    from ac_segment_export._export._index import EmailIndex, email_hash  # noqa: PLC0415
    from ac_segment_export._export._validate import check_email  # noqa: PLC0415

    n = args.profiles
    connection = Connection("bench", args.url, API_KEY).accept_data_privacy_terms(
        accepted_by="bench"
    )
    mapping = FieldMapping(email="Email", first_name="First", last_name="Last", phone="Phone")
    destination = ExportDestination(connection, "bench", args.list_id, mapping)
    with acx.Client(args.url, API_KEY, rate_limits=acx.RateLimits.unlimited()) as client:
        resolved = destination.validate(client=client)
    engine = Exporter(destination)._engine(resolved, None)
    engine._full = []  # set by Engine.run, not driven here
    mapper = resolved.mapper

    started = time.process_time()
    rows = list(profiles(n))
    source = time.process_time() - started

    def timed(body: Any) -> float:
        started = time.process_time()
        body()
        return time.process_time() - started

    mapped: list[Any] = []
    checked: list[Any] = []
    seconds = {"source (generator, for reference)": source}
    seconds["mapping (FieldMapper.map)"] = timed(lambda: mapped.extend(map(mapper.map, rows)))
    seconds["email validation (check_email)"] = timed(
        lambda: checked.extend(check_email(m.email) for m in mapped)
    )
    index, unsubscribed = EmailIndex(), EmailIndex()
    seconds["de-duplication (email_hash, EmailIndex.add_hash)"] = timed(
        lambda: [
            index.add_hash(h := email_hash(c[1])) and unsubscribed and unsubscribed.has_hash(h)
            for c in checked
        ]
    )
    encode = engine._encode
    seconds["encoding (Engine._encode, JSON)"] = timed(
        lambda: [encode(c[0], m) for c, m in zip(checked, mapped, strict=True)]
    )

    def take_all() -> None:
        take = engine._take
        for position, row in enumerate(rows):
            take(position, row)
            if len(engine._full) > 8:  # bounded, like a run's submits
                engine._full.clear()

    seconds["whole per-profile path (Engine._take)"] = timed(take_all)
    from ac_segment_export._export._report import OutcomeStatus  # noqa: PLC0415

    fresh = Exporter(destination)._engine(resolved, None)
    out, exported = fresh._out, OutcomeStatus.EXPORTED
    seconds["accounting (Engine._out, one outcome per profile)"] = timed(
        lambda: [out(i, "x@example.com", exported) for i in range(n)]
    )
    result = {
        "profiles": n,
        "seconds": seconds,
        "us_per_profile": {k: 1e6 * v / n for k, v in seconds.items()},
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def instrument(totals: dict[str, float]) -> None:
    """Add the CPU time spent in ``Client.call`` to *totals* (a few thousand calls, so the
    timer's cost, about 1 µs a reading, stays negligible; per-profile functions are timed
    alone by ``_stages`` instead)."""
    from ac_segment_export import Client  # noqa: PLC0415

    def wrap(owner: Any, name: str, label: str, clock: Any) -> None:
        original = getattr(owner, name)
        totals[label] = 0.0

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] += clock() - started

        setattr(owner, name, timed)

    wrap(
        Client,
        "call",
        "HTTP: Client.call (pacing, httpx, socket, response parsing)",
        time.process_time,
    )


# Where the time goes: disjoint call trees of the exporting process, found by file and name.
_PARTS: tuple[tuple[str, str, str], ...] = (
    ("source (the benchmark's generator)", "bench/run.py", "profiles"),
    ("mapping (FieldMapper.map)", "model/_mapper.py", "map"),
    ("email validation (check_email)", "export/_validate.py", "check_email"),
    ("de-duplication (EmailIndex)", "export/_index.py", "email_hash"),
    ("de-duplication (EmailIndex)", "export/_index.py", "add_hash"),
    ("de-duplication (EmailIndex)", "export/_index.py", "has_hash"),
    ("value checks (ProfileReader.values)", "_export/_profiles.py", "values"),
    ("encoding (BulkContactEncoder.encode)", "_core/ops.py", "encode"),
    ("HTTP (Client._call_doubt: pacing, httpx, parsing)", "_client/_client.py", "_call_doubt"),
    ("accounting (ExportReport.record)", "export/_report.py", "record"),
)


def breakdown(profiler: cProfile.Profile) -> dict[str, float]:
    """Cumulative seconds per part of the pipeline; the rest is the engine's own code."""
    stats = pstats.Stats(profiler)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in table.values())  # every function's own time
    parts: dict[str, float] = {}
    for label, path, name in _PARTS:
        seconds = sum(
            entry[3]
            for (filename, _, func), entry in table.items()
            if func == name and filename.replace(os.sep, "/").endswith(path)
        )
        parts[label] = parts.get(label, 0.0) + seconds
    parts["engine and driver (batching, tracking, the rest)"] = total - sum(parts.values())
    parts["total (profiled)"] = total
    return parts


def run_export(
    emulator: dict[str, Any],
    *,
    profiles_n: int,
    time_scale: float,
    limits: bool,
    source_cpu: bool = False,
    cprofile: Path | None = None,
    split: bool = False,
    extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run ``_export`` in a fresh process and return its measurements."""
    cmd = [
        sys.executable,
        str(HERE),
        "_export",
        "--url",
        emulator["url"],
        "--list-id",
        str(emulator["list_id"]),
        "--profiles",
        str(profiles_n),
        "--time-scale",
        str(time_scale),
    ]
    if limits:
        cmd.append("--limits")
    if source_cpu:
        cmd.append("--source-cpu")
    if cprofile is not None:
        cmd += ["--cprofile", str(cprofile)]
    if split:
        cmd.append("--split")
    cmd += extra
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=3600)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_stages(emulator: dict[str, Any], n: int) -> dict[str, float]:
    """Run ``_stages`` in a fresh process; return µs per profile of each stage."""
    cmd = [
        sys.executable,
        str(HERE),
        "_stages",
        "--url",
        emulator["url"],
        "--list-id",
        str(emulator["list_id"]),
        "--profiles",
        str(n),
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=3600)
    return json.loads(done.stdout.strip().splitlines()[-1])["us_per_profile"]  # type: ignore[no-any-return]


# -- the three benchmarks -----------------------------------------------------------------------


def bench_throughput(args: argparse.Namespace) -> dict[str, Any]:
    """Contacts a minute, in emulated time, against 100 bulk requests/min x 250."""
    scale = args.time_scale
    with emulator_process(
        time_scale=scale, limits=True, latency=args.latency, jitter=args.jitter
    ) as emulator:
        extra = (
            "--first-poll-delay",
            str(args.first_poll_delay),
            "--poll-interval",
            str(args.poll_interval),
        )
        if args.headroom is not None:
            extra += ("--headroom", str(args.headroom))
        extra += ("--exporter", args.exporter)
        r = run_export(
            emulator, profiles_n=args.profiles, time_scale=scale, limits=True, extra=extra
        )
    emulated_minutes = r["elapsed_seconds"] * scale / 60.0
    per_minute = r["exported"] / emulated_minutes
    result = {
        "benchmark": "throughput",
        **r,
        "latency_emulated_seconds": args.latency,
        "jitter_emulated_seconds": args.jitter,
        "exporter": args.exporter,
        "first_poll_delay_emulated": args.first_poll_delay,
        "poll_interval_emulated": args.poll_interval,
        "headroom": args.headroom,
        "emulated_minutes": emulated_minutes,
        "contacts_per_minute": per_minute,
        "ceiling_per_minute": CEILING_PER_MINUTE,
        "percent_of_ceiling": 100.0 * per_minute / CEILING_PER_MINUTE,
        # The whole call, with the client's start and the destination's validation, which
        # the report's elapsed time leaves out.
        "percent_of_ceiling_whole_call": 100.0
        * (r["exported"] / (r["wall_seconds"] * scale / 60.0))
        / CEILING_PER_MINUTE,
        "bulk_requests_per_minute": r["batches"] / emulated_minutes,
        "target_percent": 95.0,
    }
    result["target_met"] = result["percent_of_ceiling"] >= 95.0
    table(
        "Throughput vs the ceiling",
        [
            (
                "profiles exported",
                f"{r['exported']:,} ({'balanced' if r['balanced'] else 'NOT balanced'})",
            ),
            ("time scale", f"x{scale:g} (emulator limits and client pacing)"),
            ("exporter", "AsyncExporter" if args.exporter == "async" else "Exporter"),
            (
                "added latency",
                f"{args.latency:g} ± {args.jitter:g} emulated s a request (uniform)",
            ),
            ("real elapsed", f"{r['elapsed_seconds']:.2f} s"),
            ("emulated elapsed", f"{emulated_minutes:.3f} min"),
            ("batches / requests", f"{r['batches']:,} / {r['requests']:,}"),
            ("429s seen, retries", f"{r['rate_limited']}, {r['retries']}"),
            ("bulk requests a minute", f"{result['bulk_requests_per_minute']:.2f} (limit 100)"),
            ("contacts a minute", f"{per_minute:,.0f} (ceiling {CEILING_PER_MINUTE:,})"),
            (
                "% of ceiling",
                f"{result['percent_of_ceiling']:.2f}% (target >= 95%): "
                f"{'met' if result['target_met'] else 'MISSED'}",
            ),
            (
                "% of ceiling, whole call",
                f"{result['percent_of_ceiling_whole_call']:.2f}% (with the destination's "
                f"validation: {r['wall_seconds']:.2f} s)",
            ),
        ],
    )
    return result


def bench_cpu(args: argparse.Namespace) -> dict[str, Any]:
    """µs of CPU per profile in the exporting process, limits off, and where it goes."""
    runs = []
    rows = []
    for n in args.sizes:
        with emulator_process(time_scale=args.time_scale, limits=False) as emulator:
            r = run_export(
                emulator, profiles_n=n, time_scale=args.time_scale, limits=False, source_cpu=True
            )
        r["us_per_profile"] = 1e6 * r["cpu_seconds"] / n
        r["source_us_per_profile"] = 1e6 * r["source_cpu_seconds"] / n
        r["library_us_per_profile"] = r["us_per_profile"] - r["source_us_per_profile"]
        runs.append(r)
        rows.append(
            (
                f"{n:,} profiles",
                (
                    f"{r['cpu_seconds']:.2f} s CPU in {r['wall_seconds']:.1f} s wall = "
                    f"{r['us_per_profile']:.2f} µs/profile; source alone "
                    f"{r['source_us_per_profile']:.2f} µs -> library "
                    f"{r['library_us_per_profile']:.2f} µs/profile "
                    f"({'balanced' if r['balanced'] else 'NOT balanced'}, "
                    f"{r['requests']:,} requests, {r['batches']:,} batches)"
                ),
            )
        )
    result: dict[str, Any] = {"benchmark": "cpu", "runs": runs, "target_us_per_profile": 10.0}
    worst = max(r["library_us_per_profile"] for r in runs)
    result["target_met"] = worst <= 10.0
    rows.append(
        (
            "target <= 10 µs/profile",
            "met" if result["target_met"] else f"MISSED (worst {worst:.2f} µs/profile)",
        )
    )
    if args.profile_size:
        n = args.profile_size
        with emulator_process(time_scale=args.time_scale, limits=False) as emulator:
            timed = run_export(
                emulator, profiles_n=n, time_scale=args.time_scale, limits=False, split=True
            )
            stages = run_stages(emulator, n)
        total_us = 1e6 * timed["cpu_seconds"] / n
        parts = {k: 1e6 * v / n for k, v in timed["split"].items()}
        parts["per-profile path: Engine._take, timed alone"] = stages[
            "whole per-profile path (Engine._take)"
        ]
        parts["accounting: Engine._out, timed alone"] = stages[
            "accounting (Engine._out, one outcome per profile)"
        ]
        parts["source: the generator, timed alone"] = stages["source (generator, for reference)"]
        parts["rest: driver and engine glue (pulls, polls, batch hand-off), GC"] = total_us - sum(
            parts.values()
        )
        result["split"] = {
            "profiles": n,
            "total_us_per_profile": total_us,
            "us_per_profile": parts,
            "stages_us_per_profile": stages,
        }
        rows.append(
            (f"run with Client.call timed, {n:,} profiles", f"{total_us:.2f} µs/profile in all")
        )
        rows.extend((f"  {label}", f"{us:6.2f} µs/profile") for label, us in parts.items())
        rows.append((f"each stage alone, {n:,} profiles", "(materialised input, no requests)"))
        rows.extend((f"  {label}", f"{us:6.2f} µs/profile") for label, us in stages.items())
        RESULTS.mkdir(parents=True, exist_ok=True)
        dump = RESULTS / "cpu.pstats"
        with emulator_process(time_scale=args.time_scale, limits=False) as emulator:
            p = run_export(
                emulator,
                profiles_n=args.profile_size,
                time_scale=args.time_scale,
                limits=False,
                cprofile=dump,
            )
        parts = p["breakdown"]
        total = parts["total (profiled)"]
        unprofiled = next((r for r in runs if r["profiles"] == args.profile_size), runs[0])
        scale_us = unprofiled["us_per_profile"]
        result["breakdown"] = {
            "profiles": args.profile_size,
            "profiled_cpu_seconds": p["cpu_seconds"],
            "seconds": parts,
            "share": {k: v / total for k, v in parts.items()},
            "us_per_profile_estimate": {k: scale_us * v / total for k, v in parts.items()},
            "pstats": str(dump),
        }
        rows.append(
            (
                f"cProfile, {args.profile_size:,} profiles",
                (
                    f"{total:.2f} s profiled (cProfile inflates it); shares applied to the "
                    f"unprofiled {scale_us:.2f} µs/profile"
                ),
            )
        )
        for label, seconds in parts.items():
            if label.startswith("total"):
                continue
            rows.append(
                (
                    f"  {label}",
                    f"{100 * seconds / total:5.1f}%  ~{scale_us * seconds / total:.2f} µs/profile",
                )
            )
    table("Library CPU per profile (emulator limits off, separate process)", rows)
    return result


def bench_memory(args: argparse.Namespace) -> dict[str, Any]:
    """Peak RSS of fresh processes exporting each size, and the growth per profile."""
    runs = []
    rows = []
    for n in args.sizes:
        with emulator_process(time_scale=args.time_scale, limits=False) as emulator:
            r = run_export(emulator, profiles_n=n, time_scale=args.time_scale, limits=False)
        runs.append(r)
        rows.append(
            (
                f"{n:,} profiles",
                (
                    f"peak RSS (VmHWM) {r['hwm_after'] / 2**20:.1f} MiB; RSS before the run "
                    f"{r['rss_before'] / 2**20:.1f} MiB, after {r['rss_after'] / 2**20:.1f} MiB "
                    f"({'balanced' if r['balanced'] else 'NOT balanced'})"
                ),
            )
        )
    result: dict[str, Any] = {
        "benchmark": "memory",
        "runs": runs,
        "target_peak_bytes": 150 * 10**6,
        "target_growth_bytes": 64,
    }
    small, big = min(runs, key=lambda r: r["profiles"]), max(runs, key=lambda r: r["profiles"])
    peak = big["hwm_after"]
    result["peak_bytes"] = peak
    result["peak_target_met"] = peak <= 150 * 10**6
    rows.append(
        (
            "peak target <= 150 MB",
            f"{peak / 1e6:.1f} MB: {'met' if result['peak_target_met'] else 'MISSED'}",
        )
    )
    if big["profiles"] > small["profiles"]:
        growth = (big["hwm_after"] - small["hwm_after"]) / (big["profiles"] - small["profiles"])
        result["growth_bytes_per_profile"] = growth
        result["growth_target_met"] = growth <= 64
        rows.append(
            (
                f"growth {small['profiles']:,} -> {big['profiles']:,}",
                f"{growth:.1f} bytes/profile (target <= 64): "
                f"{'met' if result['growth_target_met'] else 'MISSED'}",
            )
        )
    table("Peak memory, streamed profiles, upsert", rows)
    return result


# -- the pipeline alone ---------------------------------------------------------------------------


def pipeline_once(n: int, rows: Any = None) -> tuple[float, float, bool]:
    """CPU seconds of one engine run over *n* profiles with canned API answers (no HTTP).

    *rows*, when given, is the source instead of the generated profiles: an iterable made
    before the timing starts (a list of dicts, or a frame's source), whose reading counts as
    the library's work (the source's own CPU is then 0).

    Returns (CPU of the whole run, CPU of the source alone, whether the report balanced).
    """
    from ac_segment_export import (  # noqa: PLC0415
        BatchStatus,
        BulkImportInfo,
        BulkImportQueued,
        ExportOptions,
        FieldMapping,
    )
    from ac_segment_export._export._commands import (  # noqa: PLC0415
        Call,
        Collect,
        Pull,
        Sent,
        Start,
    )
    from ac_segment_export._export._engine import Engine, Target  # noqa: PLC0415
    from ac_segment_export._export._report import ExportReport  # noqa: PLC0415

    mapper = FieldMapping(email="Email", first_name="First", last_name="Last", phone="Phone")
    resolved = mapper.resolve([])
    report = ExportReport(
        destination="bench", list_id=1, list_name="Bench", export_user=None, mode="upsert"
    )
    options = ExportOptions(first_poll_delay=0.0, poll_interval=0.0)
    engine = Engine(Target(list_id=1), options, resolved, report)
    done = BulkImportInfo(BatchStatus.COMPLETED)

    def answer(op: Any) -> Any:
        path = op.spec.path
        if path == "import/bulk_import":
            return BulkImportQueued("batch", op.spec.bulk_contacts)
        if path == "import/info":
            return done
        return {"contacts": [], "meta": {"total": "0"}}

    source = profiles(n)
    answered: list[tuple[int, Any]] = []
    started = time.process_time()
    if rows is not None:
        source = iter(rows)
    gen = engine.run()
    send: Any = None
    while True:
        try:
            command = gen.send(send)
        except StopIteration:
            break
        send = None
        if isinstance(command, Pull):
            send = list(itertools.islice(source, command.n))
        elif isinstance(command, Call):
            send = Sent(answer(command.op), False) if command.doubt else answer(command.op)
        elif isinstance(command, Start):
            answered.append((command.token, Sent(answer(command.op), False)))
        elif isinstance(command, Collect):
            send, answered[:] = list(answered), []
    run_cpu = time.process_time() - started
    started = time.process_time()
    for _ in profiles(n) if rows is None else ():
        pass
    source_cpu = time.process_time() - started
    report.input_count = engine.read
    return run_cpu, source_cpu, report.balanced and report.exported == n


def bench_pipeline(args: argparse.Namespace) -> dict[str, Any]:
    """µs of CPU per profile for the library's own work: no HTTP, best of several runs."""
    runs = []
    for _ in range(args.repeat):
        run_cpu, source_cpu, balanced = pipeline_once(args.profiles)
        runs.append(
            {
                "cpu_seconds": run_cpu,
                "source_cpu_seconds": source_cpu,
                "library_us_per_profile": (run_cpu - source_cpu) / args.profiles * 1e6,
                "balanced": balanced,
            }
        )
    best = min(r["library_us_per_profile"] for r in runs)
    median = sorted(r["library_us_per_profile"] for r in runs)[len(runs) // 2]
    met = best <= 10
    balanced = all(r["balanced"] for r in runs)
    table(
        "Library pipeline CPU per profile (mapping, validation, de-dup, batching, encoding, "
        "accounting; no HTTP)",
        [
            (
                f"{args.profiles:,} profiles x {args.repeat}",
                f"best {best:.2f} µs/profile, "
                f"median {median:.2f} ({'balanced' if balanced else 'NOT balanced'})",
            ),
            ("target <= 10 µs/profile", "met" if met else "MISSED"),
        ],
    )
    return {
        "benchmark": "pipeline",
        "profiles": args.profiles,
        "runs": runs,
        "best_us_per_profile": best,
        "median_us_per_profile": median,
        "target_met": met,
    }


# -- frame sources --------------------------------------------------------------------------------


def frame_sources(n: int) -> dict[str, Any]:
    """Makers of the sources compared: the dict path and each frame kind, over the same rows.

    Each maker is called before the timing starts and returns what the run reads: a list of
    dicts (the dict path, as today), or the :class:`Source` the exporter makes of a frame (its
    rows are converted to dicts chunk by chunk as the run reads them, inside the timing).
    """
    import duckdb  # noqa: PLC0415 - the benchmark's own dependencies (the tests extra)
    import pandas as pd  # noqa: PLC0415
    import polars as pl  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415

    from ac_segment_export._export._sources import open_source  # noqa: PLC0415

    dicts = list(profiles(n))
    df = pd.DataFrame(dicts)
    table = pa.Table.from_pandas(df, preserve_index=False)
    con = duckdb.connect()
    con.register("segment", table)
    columns = ["Email", "First", "Last", "Phone"]

    def framed(data: Any) -> Any:
        return lambda: open_source(data, allow_async=False, columns=columns)

    return {
        "dicts (list of dicts)": lambda: dicts,
        "pandas df.to_dict('records')": lambda: df.to_dict("records"),
        "pandas DataFrame": framed(df),
        "polars DataFrame": framed(pl.from_pandas(df)),
        "pyarrow Table": framed(table),
        "pyarrow RecordBatchReader": lambda: open_source(
            table.to_reader(), allow_async=False, columns=columns
        ),
        "DuckDB relation": framed(con.sql("SELECT * FROM segment")),
    }


def bench_sources(args: argparse.Namespace) -> dict[str, Any]:
    """µs of CPU per profile of the library's whole pipeline, from a list of dicts and frames."""
    makers = frame_sources(args.profiles)
    results: dict[str, Any] = {}
    for kind, make in makers.items():
        runs = []
        for _ in range(args.repeat):
            rows = make()
            started = time.process_time()
            if kind.startswith("pandas df.to_dict"):
                rows = make()  # the conversion a pandas user runs today, timed
            convert_cpu = time.process_time() - started
            run_cpu, _, balanced = pipeline_once(args.profiles, rows)
            runs.append((run_cpu + convert_cpu) / args.profiles * 1e6)
            assert balanced, kind
        results[kind] = {"best_us_per_profile": min(runs), "runs_us_per_profile": runs}
    base = results["dicts (list of dicts)"]["best_us_per_profile"]
    table(
        f"Library CPU per profile by source ({args.profiles:,} profiles, 4 columns, best of "
        f"{args.repeat}; no HTTP: canned answers)",
        [
            (kind, f"{us:.2f} µs/profile ({us / base:.2f}x the list of dicts)")
            for kind, us in ((k, r["best_us_per_profile"]) for k, r in results.items())
        ],
    )
    return {"benchmark": "sources", "profiles": args.profiles, "results": results}


# -- the report -----------------------------------------------------------------------------------


def report_of(n: int) -> acx.ExportReport:
    """A report of *n* non-exported profiles, each reason holding per-profile details.

    Three kinds, as an export with bad data makes them: invalid emails (the email in the
    reason), bad field values (the value in the reason), duplicates (a position in it).
    """
    import ac_segment_export as acx  # noqa: PLC0415

    status = acx.OutcomeStatus
    report = acx.ExportReport("bench", 1, "List", None, "upsert", input_count=n)
    for i in range(n):
        kind = i % 3
        if kind == 0:
            email = f"user{i}.example.org"
            reason = f"email {email!r} is not a valid address (it must contain exactly one @)"
            report.record(acx.RecordOutcome(i, email, status.REJECTED, reason, "email"))
        elif kind == 1:
            reason = (
                f"field 'Birthday' (attribute 'dob'): 'day {i}' is not a date (expected a "
                "date, a datetime or 'YYYY-MM-DD')"
            )
            report.record(acx.RecordOutcome(i, f"u{i}@example.org", status.REJECTED, reason))
        else:
            reason = f"a later profile (position {i + 1}) has the same email"
            report.record(acx.RecordOutcome(i, f"u{i}@example.org", status.DUPLICATE, reason))
    return report


def bench_report(args: argparse.Namespace) -> dict[str, Any]:
    """Seconds (process CPU) to group a large report's reasons, render it, and frame it."""
    report = report_of(args.profiles)
    calls: dict[str, Any] = {
        "reasons()": report.reasons,
        "_repr_html_()": report._repr_html_,
        "to_pandas()": report.to_pandas,
        "to_polars()": report.to_polars,
    }
    timings: dict[str, list[float]] = {}
    for label, call in calls.items():
        for _ in range(args.repeat):
            started = time.process_time()
            call()
            timings.setdefault(label, []).append(time.process_time() - started)
    best = {label: min(values) for label, values in timings.items()}
    table(
        f"Report of {args.profiles:,} non-exported profiles (CPU seconds, best of {args.repeat})",
        [(label, f"{seconds:.2f} s") for label, seconds in best.items()],
    )
    groups = report.reasons()
    return {
        "benchmark": "report",
        "profiles": args.profiles,
        "reason_groups": len(groups),
        "cpu_seconds": timings,
        "best_cpu_seconds": best,
    }


# -- output ---------------------------------------------------------------------------------------


def table(title: str, rows: list[tuple[str, str]]) -> None:
    """Print a two-column table."""
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}\n{'-' * len(title)}")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    sys.stdout.flush()


def save(result: dict[str, Any], argv: list[str]) -> Path:
    """Write *result* with the machine and the command to ``bench/results/``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{result['benchmark']}-{stamp}.json"
    payload = {
        "command": "python bench/run.py " + " ".join(argv),
        "machine": machine(),
        "finished_at": stamp,
        **result,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"-> {path.relative_to(RESULTS.parent.parent)}")
    return path


def sizes(text: str) -> list[int]:
    """``"100000,1000000"`` -> ``[100000, 1000000]``."""
    return [int(part.replace("_", "")) for part in text.split(",") if part]


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("throughput", help="contacts/minute against the 25,000/min ceiling")
    t.add_argument("--profiles", type=int, default=200_000)
    t.add_argument(
        "--headroom", type=float, help="RateLimits.headroom (default: the library's default)"
    )
    t.add_argument(
        "--first-poll-delay",
        type=float,
        default=1.0,
        help="emulated seconds before a batch's first status check (the library's default: 1)",
    )
    t.add_argument(
        "--poll-interval",
        type=float,
        default=2.0,
        help="emulated seconds between status checks (the library's default: 2)",
    )
    t.add_argument(
        "--time-scale",
        type=float,
        default=20.0,
        help="emulated time runs this much faster; client pacing scaled alike",
    )
    t.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="emulated seconds the emulator adds to every request (0: loopback only)",
    )
    t.add_argument(
        "--exporter",
        choices=["sync", "async"],
        default="sync",
        help="Exporter (sync, a small thread pool) or AsyncExporter (tasks)",
    )
    t.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="each request's added latency varies by up to this many emulated seconds",
    )
    c = sub.add_parser("cpu", help="µs of CPU per profile, and a cProfile breakdown")
    c.add_argument("--sizes", type=sizes, default=[200_000, 1_000_000])
    c.add_argument(
        "--profile-size",
        type=int,
        default=200_000,
        help="profiles in the cProfile pass (0 skips it)",
    )
    c.add_argument(
        "--time-scale",
        type=float,
        default=1000.0,
        help="speeds up the batch lifecycle; poll delays scaled alike",
    )
    q = sub.add_parser("pipeline", help="µs of CPU per profile without HTTP (canned answers)")
    q.add_argument("--profiles", type=int, default=200_000)
    q.add_argument("--repeat", type=int, default=5)
    f = sub.add_parser("sources", help="µs of CPU per profile: a list of dicts vs each frame kind")
    f.add_argument("--profiles", type=int, default=200_000)
    f.add_argument("--repeat", type=int, default=3)
    m = sub.add_parser("memory", help="peak RSS and growth per profile")
    m.add_argument("--sizes", type=sizes, default=[100_000, 1_000_000])
    m.add_argument("--time-scale", type=float, default=1000.0)
    r = sub.add_parser("report", help="CPU to group, render and frame a large report")
    r.add_argument("--profiles", type=int, default=1_000_000)
    r.add_argument("--repeat", type=int, default=3)
    sub.add_parser("all", help="the three benchmarks with their defaults")
    s = sub.add_parser("_serve", help=argparse.SUPPRESS)
    s.add_argument("--time-scale", type=float, required=True)
    s.add_argument("--limits", action="store_true")
    s.add_argument("--latency", type=float, default=0.0)
    s.add_argument("--jitter", type=float, default=0.0)
    e = sub.add_parser("_export", help=argparse.SUPPRESS)
    e.add_argument("--url", required=True)
    e.add_argument("--list-id", type=int, required=True)
    e.add_argument("--profiles", type=int, required=True)
    e.add_argument("--time-scale", type=float, required=True)
    e.add_argument("--limits", action="store_true")
    e.add_argument("--source-cpu", action="store_true")
    e.add_argument("--cprofile")
    e.add_argument("--split", action="store_true")
    e.add_argument("--headroom", type=float)
    e.add_argument("--exporter", choices=["sync", "async"], default="sync")
    e.add_argument("--first-poll-delay", type=float, default=1.0)
    e.add_argument("--poll-interval", type=float, default=2.0)
    g = sub.add_parser("_stages", help=argparse.SUPPRESS)
    g.add_argument("--url", required=True)
    g.add_argument("--list-id", type=int, required=True)
    g.add_argument("--profiles", type=int, required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    argv = sys.argv[1:] if argv is None else argv
    p = parser()
    args = p.parse_args(argv)
    if args.command == "_serve":
        return serve(args)
    if args.command == "_export":
        return export_child(args)
    if args.command == "_stages":
        return stages_child(args)
    info = machine()
    print(f"{info['nproc']} cores ({info['cpu']}), {info['implementation']} {info['python']}")
    benches = {
        "throughput": bench_throughput,
        "cpu": bench_cpu,
        "pipeline": bench_pipeline,
        "sources": bench_sources,
        "memory": bench_memory,
        "report": bench_report,
    }
    names = [n for n in benches if n != "report"] if args.command == "all" else [args.command]
    for name in names:
        sub_args = p.parse_args([name]) if args.command == "all" else args
        save(benches[name](sub_args), [name] if args.command == "all" else argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())

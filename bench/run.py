"""Benchmarks of the exporter: throughput against the ceiling, CPU per profile, peak memory.

Run ``nox -s bench -- <command> [options]`` or ``python bench/run.py <command> [options]``:

- ``throughput``: an export against the emulator with ActiveCampaign's real limits, time-scaled,
  reported in emulated contacts a minute against the 25,000/min ceiling (100 bulk requests a
  minute x 250 contacts).
- ``cpu``: the exporting process's CPU time per profile (``--exporter sync|async``, repeated
  runs), with the emulator's limits off and the emulator in a separate process; with a split of
  where it goes (requests, the per-profile path, the rest), and with ``--flame`` a py-spy flame
  graph and shares by package.
- ``sources``: the library's CPU per profile without HTTP (as ``pipeline``) when the profiles
  come as a list of dicts (today's path) and as each frame kind the exporter reads directly
  (pandas, polars, pyarrow Table and RecordBatchReader, DuckDB), the frame's conversion
  to dicts included; and ``df.to_dict("records")`` plus the dict path, for comparison.
- ``memory``: peak RSS (VmHWM) of fresh processes exporting 100,000 and 1,000,000 streamed
  profiles, and the growth per profile between them.
- ``requests``: CPU a request through ``Client.call``, a bare httpx client and ``http.client``.
- ``report``: CPU seconds to group (``reasons()``), render (``_repr_html_()``) and frame
  (``to_pandas()``, ``to_polars()``) the report of a million non-exported profiles.
- ``all``: all but ``report`` and ``requests``, with their defaults.

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
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import threading
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
        first_poll_delay=args.first_poll_delay / scale,
        poll_interval=args.poll_interval / scale,
        max_requests_in_flight=args.max_requests_in_flight,
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
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = run(profiles(n))
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    after = proc_status()
    result: dict[str, Any] = {
        "profiles": n,
        "time_scale": scale,
        "limits": args.limits,
        "cpu_seconds": cpu,
        "user_seconds": usage.ru_utime - usage0.ru_utime,
        "system_seconds": usage.ru_stime - usage0.ru_stime,
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
    divided by the count. ``Engine._take`` is the whole per-profile path (read, de-duplicate,
    check the values, encode, batch) without any request.
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

    def engine() -> Any:
        fresh = Exporter(destination)._engine(resolved, None)
        fresh._full = []  # set by Engine.run, not driven here
        return fresh

    reader = engine().reader
    mapper = reader.mapper

    started = time.process_time()
    rows = list(profiles(n))
    source = time.process_time() - started

    def timed(body: Any) -> float:
        started = time.process_time()
        body()
        return time.process_time() - started

    mapped: list[Any] = []
    read: list[Any] = []
    checked: list[Any] = []
    values: list[Any] = []
    seconds = {"source (generator, for reference)": source}
    seconds["mapping (FieldMapper.map)"] = timed(lambda: mapped.extend(map(mapper.map, rows)))
    seconds["email validation (check_email)"] = timed(
        lambda: checked.extend(check_email(m.email) for m in mapped)
    )
    seconds["reading (ProfileReader.read: mapping and email check)"] = timed(
        lambda: read.extend(map(reader.read, rows))
    )
    index, unsubscribed = EmailIndex(), EmailIndex()
    seconds["de-duplication (email_hash, EmailIndex.add_hash)"] = timed(
        lambda: [
            index.add_hash(h := email_hash(r[1])) and unsubscribed and unsubscribed.has_hash(h)
            for r in read
        ]
    )
    seconds["value checks (ProfileReader.values)"] = timed(
        lambda: values.extend(map(reader.values, mapped))
    )
    encode = engine()._encode_contact
    seconds["encoding (BulkContactEncoder.encode, JSON)"] = timed(
        lambda: [encode(r[0], *v) for r, v in zip(read, values, strict=True)]
    )

    taker = engine()

    def take_all() -> None:
        take, full = taker._take, taker._full
        for position, row in enumerate(rows):
            take(position, row)
            if len(full) > 8:  # bounded, like a run's submits
                full.clear()

    seconds["whole per-profile path (Engine._take)"] = timed(take_all)
    ledger = engine().ledger
    emails = [r[0] for r in read]
    size = 250

    def account() -> None:
        exported = ledger.exported
        for start in range(0, n, size):
            exported(range(start, min(n, start + size)), emails[start : start + size])

    seconds["accounting (Ledger.exported, a batch of 250 at a time)"] = timed(account)
    result = {
        "profiles": n,
        "seconds": seconds,
        "us_per_profile": {k: 1e6 * v / n for k, v in seconds.items()},
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def instrument(totals: dict[str, float]) -> None:
    """Add the CPU time spent in ``Client._call_doubt`` to *totals*.

    Every request of a sync export goes through it, in the driver's thread or one of the
    wire's pool threads, so each call is timed with its own thread's CPU clock. A few
    thousand calls: the timer's cost (about 1 µs a reading) stays negligible; per-profile
    functions are timed alone by ``_stages`` instead.
    """
    from ac_segment_export import Client  # noqa: PLC0415

    label = "HTTP: Client._call_doubt (pacing, httpx, socket, response parsing)"
    original = Client._call_doubt
    totals[label] = 0.0
    lock = threading.Lock()

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent = time.thread_time() - started
            with lock:
                totals[label] += spent

    Client._call_doubt = timed  # type: ignore[method-assign]


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


def _spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"min": ordered[0], "median": ordered[len(ordered) // 2], "max": ordered[-1]}


def bench_cpu(args: argparse.Namespace) -> dict[str, Any]:
    """µs of CPU per profile in the exporting process, limits off, and where it goes."""
    runs = []
    rows = []
    exporter: tuple[str, ...] = ("--exporter", args.exporter)
    if args.max_requests_in_flight is not None:
        exporter += ("--max-requests-in-flight", str(args.max_requests_in_flight))
    for n in args.sizes:
        figures = []
        for _ in range(args.repeat):
            with emulator_process(time_scale=args.time_scale, limits=False) as emulator:
                r = run_export(
                    emulator,
                    profiles_n=n,
                    time_scale=args.time_scale,
                    limits=False,
                    source_cpu=True,
                    extra=exporter,
                )
            r["us_per_profile"] = 1e6 * r["cpu_seconds"] / n
            r["source_us_per_profile"] = 1e6 * r["source_cpu_seconds"] / n
            r["library_us_per_profile"] = r["us_per_profile"] - r["source_us_per_profile"]
            runs.append(r)
            figures.append(r)
        whole = _spread([r["us_per_profile"] for r in figures])
        library = _spread([r["library_us_per_profile"] for r in figures])
        last = figures[-1]
        system = sum(r["system_seconds"] for r in figures) / sum(
            r["user_seconds"] + r["system_seconds"] for r in figures
        )
        rows.append(
            (
                f"{n:,} profiles x {args.repeat}",
                (
                    f"whole process {whole['median']:.2f} µs/profile "
                    f"({whole['min']:.2f}-{whole['max']:.2f}); without the source generator "
                    f"{library['median']:.2f} ({library['min']:.2f}-{library['max']:.2f}) "
                    f"({'balanced' if all(r['balanced'] for r in figures) else 'NOT balanced'}, "
                    f"{last['requests']:,} requests, {last['batches']:,} batches; "
                    f"system time {100 * system:.0f}% of the CPU)"
                ),
            )
        )
    result: dict[str, Any] = {
        "benchmark": "cpu",
        "exporter": args.exporter,
        "max_requests_in_flight": args.max_requests_in_flight,
        "repeat": args.repeat,
        "runs": runs,
        "target_us_per_profile": 12.0,
    }
    worst = max(
        _spread([r["us_per_profile"] for r in runs if r["profiles"] == n])["median"]
        for n in args.sizes
    )
    result["target_met"] = worst <= 12.0
    rows.append(
        (
            "target <= 12 µs/profile (whole process, median)",
            "met" if result["target_met"] else f"MISSED (worst {worst:.2f} µs/profile)",
        )
    )
    if args.profile_size and args.exporter == "sync":
        n = args.profile_size
        with emulator_process(time_scale=args.time_scale, limits=False) as emulator:
            timed = run_export(
                emulator,
                profiles_n=n,
                time_scale=args.time_scale,
                limits=False,
                split=True,
                extra=exporter,
            )
            stages = run_stages(emulator, n)
        total_us = 1e6 * timed["cpu_seconds"] / n
        parts = {k: 1e6 * v / n for k, v in timed["split"].items()}
        parts["per-profile path: Engine._take, timed alone"] = stages[
            "whole per-profile path (Engine._take)"
        ]
        parts["accounting: Ledger.exported, timed alone"] = stages[
            "accounting (Ledger.exported, a batch of 250 at a time)"
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
            (
                f"run with Client._call_doubt timed, {n:,} profiles",
                f"{total_us:.2f} µs/profile in all",
            )
        )
        rows.extend((f"  {label}", f"{us:6.2f} µs/profile") for label, us in parts.items())
        rows.append((f"each stage alone, {n:,} profiles", "(materialised input, no requests)"))
        rows.extend((f"  {label}", f"{us:6.2f} µs/profile") for label, us in stages.items())
    if args.flame:
        n = args.profile_size or min(args.sizes)
        sampled = flame(args, n)
        result["flame"] = sampled
        rows.append(
            (
                f"py-spy, {n:,} profiles, every thread",
                f"{sampled['samples']:,} samples; flame graph {sampled['svg']}",
            )
        )
        rows.extend(
            (f"  {label}", f"{100 * share:5.1f}%")
            for label, share in sampled["share_by_package"].items()
        )
        rows.append(("  inclusive (a sample counts for every part on its stack)", ""))
        rows.extend(
            (f"    {label}", f"{100 * share:5.1f}%")
            for label, share in sampled["share_inclusive"].items()
        )
    table(f"Exporting process CPU per profile ({args.exporter}, emulator limits off)", rows)
    return result


# Who spends a sampled stack's time: the innermost frame that is not the standard library's,
# by path (a socket send made by httpcore is httpcore's).
_PACKAGES: tuple[tuple[str, str], ...] = (
    ("/httpcore/", "httpcore"),
    ("/h11/", "h11"),
    ("/httpx/", "httpx"),
    ("/anyio/", "anyio"),
    ("/tenacity/", "tenacity"),
    ("/cattrs/", "cattrs"),
    ("/attr/", "attrs"),
    ("/ac_segment_export/_client/", "ours: client"),
    ("/ac_segment_export/_core/", "ours: core (http, ops, retry, pacing, wire)"),
    ("/ac_segment_export/_export/", "ours: export engine and drivers"),
    ("/ac_segment_export/_model/", "ours: mapping"),
    ("/ac_segment_export/", "ours: other"),
    ("bench/run.py", "the benchmark's source generator"),
)
# Parts whose whole subtree is counted (a sample in several counts in each).
_INCLUSIVE: tuple[tuple[str, str], ...] = (
    ("Client._call_doubt (one request: pacing, retry, httpx, parsing)", "_call_doubt ("),
    ("httpx Client.send (httpx and httpcore, the socket included)", "Client.send ("),
    ("Client._build (request building)", "_BaseClient._build ("),
    ("decode_body (JSON and redaction)", "decode_body ("),
    ("operation parse (cattrs structuring)", "parse ("),
    ("tenacity (the retry loop)", "/tenacity/"),
    ("RateLimiter.acquire (pacing)", "acquire ("),
    ("logging", "/logging/"),
    ("Engine._take (per-profile path)", "Engine._take ("),
)


def _package(frame: str) -> str | None:
    for needle, label in _PACKAGES:
        if needle in frame:
            return label
    return None


def flame(args: argparse.Namespace, n: int) -> dict[str, Any]:
    """One export under ``py-spy`` (every thread, idle ones left out): an SVG, and shares."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    svg = RESULTS / f"cpu-{args.exporter}.svg"
    raw = RESULTS / f"cpu-{args.exporter}.folded"
    with emulator_process(time_scale=args.time_scale, limits=False) as emulator:
        child = [
            sys.executable,
            str(HERE),
            "_export",
            "--url",
            emulator["url"],
            "--list-id",
            str(emulator["list_id"]),
            "--profiles",
            str(n),
            "--time-scale",
            str(args.time_scale),
            "--exporter",
            args.exporter,
        ]
        if args.max_requests_in_flight is not None:
            child += ["--max-requests-in-flight", str(args.max_requests_in_flight)]
        for fmt, out in (("raw", raw), ("flamegraph", svg)):
            # --gil: only the thread holding the GIL is sampled; py-spy cannot tell a pool
            # thread blocked in queue.get from a running one, and would count it.
            spy = ["py-spy", "record", "--gil", "--full-filenames", "--rate", str(args.flame_rate)]
            spy += ["--format", fmt, "--output", str(out), "--"]
            subprocess.run(spy + child, check=True, capture_output=True, text=True, timeout=3600)
    by_package: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        owner = next((label for frame in reversed(frames) if (label := _package(frame))), "other")
        by_package[owner] = by_package.get(owner, 0) + count
        for label, needle in _INCLUSIVE:
            if any(needle in frame for frame in frames):
                inclusive[label] = inclusive.get(label, 0) + count
    ordered = dict(sorted(by_package.items(), key=lambda item: -item[1]))
    return {
        "profiles": n,
        "samples": samples,
        "svg": str(svg.relative_to(HERE.parent.parent)),
        "folded": str(raw.relative_to(HERE.parent.parent)),
        "share_by_package": {k: v / samples for k, v in ordered.items()},
        "share_inclusive": {label: inclusive.get(label, 0) / samples for label, _ in _INCLUSIVE},
    }


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


# -- one request's CPU ----------------------------------------------------------------------------


def requests_child(args: argparse.Namespace) -> int:
    """``_requests``: CPU a request, one request at a time, through each layer in turn.

    A bulk import of 250 benchmark contacts (about 38 kB) and a status check, alternately:
    through ``Client.call`` (or ``AsyncClient.call``), through a bare httpx client sending the
    same requests, and through ``http.client`` (the standard library, for scale).
    """
    import http.client  # noqa: PLC0415
    import socket  # noqa: PLC0415

    import httpx  # noqa: PLC0415

    import ac_segment_export as acx  # noqa: PLC0415
    from ac_segment_export._core import ops  # noqa: PLC0415

    encoder = ops.BulkContactEncoder(subscribe=(args.list_id,), exclude_automations=True)
    encoded = [encoder.encode(p["Email"], p["First"], p["Last"], p["Phone"]) for p in profiles(250)]
    body = ops.bulk_import_submit_encoded(encoded).spec.content
    assert body is not None
    n, url = args.requests // 2, args.url
    headers = {"Api-Token": API_KEY, "Accept": "application/json"}
    posted = {**headers, "Content-Type": "application/json"}
    limits = acx.RateLimits.unlimited()

    def per_request(pair: Any) -> float:
        pair()  # connect, warm up
        started = time.process_time()
        for _ in range(n):
            pair()
        return 1e6 * (time.process_time() - started) / (2 * n)

    results: dict[str, float] = {}
    if args.exporter == "sync":
        with acx.Client(url, API_KEY, rate_limits=limits) as client:

            def ours() -> None:
                queued = client.call(ops.bulk_import_submit_encoded(encoded))
                client.call(ops.bulk_import_info(queued.batch_id, with_ids=False))

            results["Client.call"] = per_request(ours)
        with httpx.Client() as bare:

            def plain() -> None:
                queued = bare.post(f"{url}/api/3/import/bulk_import", content=body, headers=posted)
                batch = queued.json()["batchId"]
                bare.get(f"{url}/api/3/import/info", params={"batchId": batch}, headers=headers)

            results["httpx.Client"] = per_request(plain)
        host, port = url.rsplit("//", 1)[1].rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port))
        connection.connect()
        assert connection.sock is not None
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def stdlib() -> None:
            connection.request("POST", "/api/3/import/bulk_import", body=body, headers=posted)
            batch = json.loads(connection.getresponse().read())["batchId"]
            connection.request("GET", f"/api/3/import/info?batchId={batch}", headers=headers)
            json.loads(connection.getresponse().read())

        results["http.client"] = per_request(stdlib)
        connection.close()
    else:

        async def measure() -> None:
            async def timed(pair: Any) -> float:
                await pair()
                started = time.process_time()
                for _ in range(n):
                    await pair()
                return 1e6 * (time.process_time() - started) / (2 * n)

            async with acx.AsyncClient(url, API_KEY, rate_limits=limits) as client:

                async def ours() -> None:
                    queued = await client.call(ops.bulk_import_submit_encoded(encoded))
                    await client.call(ops.bulk_import_info(queued.batch_id, with_ids=False))

                results["AsyncClient.call"] = await timed(ours)
            async with httpx.AsyncClient() as bare:

                async def plain() -> None:
                    queued = await bare.post(
                        f"{url}/api/3/import/bulk_import", content=body, headers=posted
                    )
                    batch = queued.json()["batchId"]
                    await bare.get(
                        f"{url}/api/3/import/info", params={"batchId": batch}, headers=headers
                    )

                results["httpx.AsyncClient"] = await timed(plain)

        asyncio.run(measure())
    sys.stdout.write(json.dumps({"us_per_request": results, "body_bytes": len(body)}) + "\n")
    return 0


def bench_requests(args: argparse.Namespace) -> dict[str, Any]:
    """µs of CPU a request through the client, bare httpx and http.client; median of runs."""
    runs: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        with emulator_process(time_scale=1000.0, limits=False) as emulator:
            cmd = [sys.executable, str(HERE), "_requests", "--url", emulator["url"]]
            cmd += ["--list-id", str(emulator["list_id"]), "--requests", str(args.requests)]
            cmd += ["--exporter", args.exporter]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=3600)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    labels = list(runs[0]["us_per_request"])
    spread = {label: _spread([r["us_per_request"][label] for r in runs]) for label in labels}
    table(
        f"CPU a request ({args.requests:,} a run, half bulk imports of "
        f"{runs[0]['body_bytes']:,} bytes, half status checks; {args.repeat} runs)",
        [
            (label, f"{s['median']:7.1f} µs median ({s['min']:.1f}-{s['max']:.1f})")
            for label, s in spread.items()
        ],
    )
    return {
        "benchmark": "requests",
        "exporter": args.exporter,
        "requests": args.requests,
        "runs": runs,
        "us_per_request": spread,
    }


# -- the pipeline alone ---------------------------------------------------------------------------


def pipeline_once(n: int, rows: Any = None) -> tuple[float, float, bool]:
    """CPU seconds of one engine run over *n* profiles with canned API answers (no HTTP).

    *rows*, when given, is the source instead of the generated profiles: an iterable made
    before the timing starts (a list of dicts, or a frame's source), whose reading counts as
    the library's work (the source's own CPU is then 0).

    Returns (CPU of the whole run, CPU of the source alone, whether the report balanced).
    """
    import canned  # noqa: PLC0415 - bench/canned.py, beside this script

    from ac_segment_export import ExportOptions, FieldMapping  # noqa: PLC0415
    from ac_segment_export._export._engine import Engine, Target  # noqa: PLC0415
    from ac_segment_export._export._report import ExportReport  # noqa: PLC0415

    mapper = FieldMapping(email="Email", first_name="First", last_name="Last", phone="Phone")
    resolved = mapper.resolve([])
    report = ExportReport(
        destination="bench", list_id=1, list_name="Bench", export_user=None, mode="upsert"
    )
    options = ExportOptions(first_poll_delay=0.0, poll_interval=0.0)
    engine = Engine(Target(list_id=1), options, resolved, report)
    source = profiles(n)
    started = time.process_time()
    canned.drive(engine, source if rows is None else rows)
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
    c = sub.add_parser("cpu", help="µs of CPU per profile of the whole exporting process")
    c.add_argument("--sizes", type=sizes, default=[200_000, 1_000_000])
    c.add_argument("--repeat", type=int, default=3, help="runs of each size (fresh processes)")
    c.add_argument(
        "--exporter",
        choices=["sync", "async"],
        default="sync",
        help="Exporter (sync, a small thread pool) or AsyncExporter (tasks)",
    )
    c.add_argument(
        "--profile-size",
        type=int,
        default=200_000,
        help="profiles in the timed split and the stages pass (sync only; 0 skips them)",
    )
    c.add_argument(
        "--flame",
        action="store_true",
        help="one more run under py-spy: bench/results/cpu-EXPORTER.svg and the shares",
    )
    c.add_argument("--flame-rate", type=int, default=250, help="py-spy samples a second")
    c.add_argument(
        "--max-requests-in-flight",
        type=int,
        help="ExportOptions.max_requests_in_flight (default: the library's, derived from the run)",
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
    w = sub.add_parser("requests", help="µs of CPU a request: the client, bare httpx, http.client")
    w.add_argument("--requests", type=int, default=2000, help="requests a run (half of each)")
    w.add_argument("--repeat", type=int, default=3)
    w.add_argument("--exporter", choices=["sync", "async"], default="sync")
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
    e.add_argument("--max-requests-in-flight", type=int)
    e.add_argument("--first-poll-delay", type=float, default=1.0)
    e.add_argument("--poll-interval", type=float, default=2.0)
    u = sub.add_parser("_requests", help=argparse.SUPPRESS)
    u.add_argument("--url", required=True)
    u.add_argument("--list-id", type=int, required=True)
    u.add_argument("--requests", type=int, required=True)
    u.add_argument("--exporter", choices=["sync", "async"], default="sync")
    g = sub.add_parser("_stages", help=argparse.SUPPRESS)
    g.add_argument("--url", required=True)
    g.add_argument("--list-id", type=int, required=True)
    g.add_argument("--profiles", type=int, required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["shared-budget"]:  # issue 13's benchmark lives in its own module
        sys.path.insert(0, str(HERE.parent))
        import shared_budget  # noqa: PLC0415

        return shared_budget.main(argv[1:])
    p = parser()
    args = p.parse_args(argv)
    if args.command == "_serve":
        return serve(args)
    if args.command == "_export":
        return export_child(args)
    if args.command == "_stages":
        return stages_child(args)
    if args.command == "_requests":
        return requests_child(args)
    info = machine()
    print(f"{info['nproc']} cores ({info['cpu']}), {info['implementation']} {info['python']}")
    benches = {
        "throughput": bench_throughput,
        "cpu": bench_cpu,
        "pipeline": bench_pipeline,
        "sources": bench_sources,
        "memory": bench_memory,
        "report": bench_report,
        "requests": bench_requests,
    }
    names = (
        [n for n in benches if n not in {"report", "requests"}]
        if args.command == "all"
        else [args.command]
    )
    for name in names:
        sub_args = p.parse_args([name]) if args.command == "all" else args
        save(benches[name](sub_args), [name] if args.command == "all" else argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())

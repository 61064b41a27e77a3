"""Audit verification: events verified per second over the whole generated trail (≥ 1,000,000).

    .venv/bin/python -m bench.audit_verify --db rp_bench

Runs :func:`rights_portal.audit.verify.verify_chain` in-process (exactly what ``flask audit
verify`` and the nightly task run: ranges of ids checked by one process per core) over the
generator's trail, with references measured in the same run: the same ranges read by the same
number of processes without hashing (what PostgreSQL and COPY can deliver), the previous
verifier (one stream through a server-side cursor), and sha256 over the events' canonical bytes
already in memory, per event and as one buffer. docs/rules.md#targets wants at least 1,000,000
events per second. Bounded: the trail is finite and the in-memory reference uses at most
``--sample`` rows.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import time
from datetime import UTC, datetime

from bench.common import machine, make_app, write_result

TARGET = 1_000_000


def cpu() -> float:
    """CPU seconds of this process and of its finished child processes (the ranges' workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def read_only(task: tuple[str, int, int]) -> int:
    """Read one range exactly as the verifier does (binary server-side cursor), no hashing."""
    import psycopg

    from rights_portal.audit.verify import _PG_QUERY

    dsn, lo, hi = task
    query = _PG_QUERY.replace("ORDER BY id", f"WHERE id >= {lo} AND id < {hi} ORDER BY id")
    count = 0
    with (
        psycopg.connect(dsn) as conn,
        conn.cursor(name="bench_read", binary=True) as cursor,
    ):
        cursor.execute(query)
        while batch := cursor.fetchmany(5000):
            count += len(batch)
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="rp_bench")
    parser.add_argument("--sample", type=int, default=200_000, help="rows for the hash-only run")
    parser.add_argument("--workers", type=int, default=0, help="processes (default: one a core)")
    args = parser.parse_args(argv)

    import multiprocessing

    from rights_portal.audit import ranges
    from rights_portal.audit.services import canonical_bytes_from_columns
    from rights_portal.audit.verify import _batch_source, _prefetched, _verify_stream, verify_chain
    from rights_portal.extensions import db

    app = make_app(args.db, "/tmp/bench-audit-instance")
    workers = args.workers or ranges.default_workers()
    before = machine()
    with app.app_context():
        engine = db.engine
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with engine.connect() as conn:
            first, last = conn.exec_driver_sql("SELECT min(id), max(id) FROM audit_events").one()
        spans = ranges.ranges(first, last, max(20_000, -(-(last - first + 1) // (workers * 8))))

        # The verifier itself (what `flask audit verify` and the nightly task run).
        started, cpu0 = time.perf_counter(), cpu()
        result = verify_chain(workers=workers)
        verify_s, verify_cpu = time.perf_counter() - started, cpu() - cpu0
        if not result.ok:
            raise SystemExit(f"the generated trail does not verify: {result.problem}")

        # Reference 1: the same ranges read by the same processes, without hashing.
        started, cpu0 = time.perf_counter(), cpu()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            copied = sum(pool.imap(read_only, [(dsn, lo, hi) for lo, hi in spans]))
            pool.close()
            pool.join()
        copy_s, copy_cpu = time.perf_counter() - started, cpu() - cpu0

        # Reference 2: the previous verifier, one stream through a cursor.
        started = time.perf_counter()
        streamed = _verify_stream(engine, (), 5000)
        stream_s = time.perf_counter() - started

        # Reference 3: hashing the canonical bytes in memory, one core, no database.
        sample: list[bytes] = []
        for batch in _prefetched(_batch_source(engine, 5000)):
            sample.extend(canonical_bytes_from_columns(*row[1:13]) for row in batch)
            if len(sample) >= args.sample:
                break
        sha256 = hashlib.sha256
        started = time.perf_counter()
        for data in sample:
            sha256(data).hexdigest()
        hash_s = time.perf_counter() - started
        sample_bytes = sum(map(len, sample))
        big = b"".join(sample)
        started = time.perf_counter()
        sha256(big).hexdigest()
        big_s = time.perf_counter() - started

    events = result.events_checked
    rate = events / verify_s
    copy_rate, stream_rate = copied / copy_s, streamed.events_checked / stream_s
    hash_rate = len(sample) / hash_s
    lines = [
        f"Audit verification, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {before['cpu']},"
        f" database {args.db}, {workers} processes, {len(spans)} ranges",
        f"Load before: {before['uptime']}",
        "",
        "| run | events | seconds | events/s | ratio |",
        "|---|---:|---:|---:|---|",
        f"| verify_chain (ranges in {workers} processes) | {events:,} | {verify_s:.1f}"
        f" | {rate:,.0f} | **{rate / TARGET:.2f} x the 1,000,000/s target** |",
        f"| same ranges read by the same processes, no hashing | {copied:,} | {copy_s:.1f}"
        f" | {copy_rate:,.0f} | verifier = {rate / copy_rate:.2f} x reading only |",
        f"| previous verifier (one cursor stream) | {streamed.events_checked:,} | {stream_s:.1f}"
        f" | {stream_rate:,.0f} | verifier = {rate / stream_rate:.2f} x previous |",
        f"| sha256 of each event's bytes in memory, 1 core | {len(sample):,} | {hash_s:.2f}"
        f" | {hash_rate:,.0f} | {sample_bytes / hash_s / 1e6:,.0f} MB/s |",
        f"| sha256 of the same bytes as one buffer, 1 core | — | {big_s:.2f} | — |"
        f" {len(big) / big_s / 1e6:,.0f} MB/s |",
        "",
        f"Python CPU per event (this process and its workers, PostgreSQL's backends not"
        f" counted): verifier {verify_cpu / events * 1e6:.1f} µs, reading only"
        f" {copy_cpu / copied * 1e6:.1f} µs, sha256 alone {hash_s / len(sample) * 1e6:.2f} µs."
        f" 1,000,000 events/s on {os.cpu_count()} cores leaves"
        f" {(os.cpu_count() or 1) / 1e6 * 1e6:.1f} µs of CPU per event for everything,"
        " PostgreSQL included.",
        f"Load after: {machine()['uptime']}",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    write_result(f"audit-verify-{datetime.now(UTC):%Y%m%d-%H%M}.md", report)
    write_result("audit-verify.md", report)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.audit_verify")
    main()

"""Audit verification: events verified per second over the whole generated trail (≥ 1,000,000).

    .venv/bin/python -m bench.audit_verify --db rp_bench

Runs :func:`rights_portal.audit.verify.verify_chain` in-process (exactly what ``flask audit
verify`` and the nightly task run) over the generator's trail, with two references measured in
the same run: streaming the same rows through the verifier's own batch source without hashing
(what the database and driver can deliver), and hashing rows already in memory without the
database (what Python can hash). docs/rules.md#targets wants at least 100,000 events per
second. Bounded: the trail is finite and the in-memory reference uses at most ``--sample`` rows.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import time
from datetime import UTC, datetime

from bench.common import machine, make_app, write_result

TARGET = 100_000


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="rp_bench")
    parser.add_argument("--sample", type=int, default=200_000, help="rows for the hash-only run")
    args = parser.parse_args(argv)

    from rights_portal.audit.services import canonical_bytes_from_columns
    from rights_portal.audit.verify import _batch_source, _prefetched, verify_chain
    from rights_portal.extensions import db

    app = make_app(args.db, "/tmp/bench-audit-instance")
    before = machine()
    with app.app_context():
        # Reference 1: the same stream, no hashing.
        started, cpu0 = time.perf_counter(), cpu()
        fetched = 0
        sample: list[tuple[object, ...]] = []
        for batch in _prefetched(_batch_source(db.engine, 5000)):
            fetched += len(batch)
            if len(sample) < args.sample:
                sample.extend(batch[: args.sample - len(sample)])
        fetch_s, fetch_cpu = time.perf_counter() - started, cpu() - cpu0

        # Reference 2: hashing rows in memory, no database.
        sha256, build = hashlib.sha256, canonical_bytes_from_columns
        started = time.perf_counter()
        for row in sample:
            sha256(build(*row[1:13])).hexdigest()
        hash_s = time.perf_counter() - started

        # The verifier itself.
        started, cpu0 = time.perf_counter(), cpu()
        result = verify_chain()
        verify_s, verify_cpu = time.perf_counter() - started, cpu() - cpu0
    if not result.ok:
        raise SystemExit(f"the generated trail does not verify: {result.problem}")

    verify_rate = result.events_checked / verify_s
    fetch_rate = fetched / fetch_s
    hash_rate = len(sample) / hash_s
    lines = [
        f"Audit verification, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {before['cpu']},"
        f" database {args.db}",
        f"Load before: {before['uptime']}",
        "",
        "| run | events | seconds | events/s | events per CPU-second | ratio |",
        "|---|---:|---:|---:|---:|---|",
        f"| verify_chain (the verifier) | {result.events_checked:,} | {verify_s:.1f}"
        f" | {verify_rate:,.0f} | {result.events_checked / verify_cpu:,.0f}"
        f" | {verify_rate / TARGET:.2f} x the 100,000/s target |",
        f"| stream only (same query and cursor, no hashing) | {fetched:,} | {fetch_s:.1f}"
        f" | {fetch_rate:,.0f} | {fetched / fetch_cpu:,.0f}"
        f" | verifier = {verify_rate / fetch_rate:.2f} x stream only |",
        f"| hash only (rows in memory, no database) | {len(sample):,} | {hash_s:.1f}"
        f" | {hash_rate:,.0f} | — | verifier = {verify_rate / hash_rate:.2f} x hash only |",
        "",
        f"Load after: {machine()['uptime']}",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    write_result(f"audit-verify-{datetime.now(UTC):%Y%m%d-%H%M}.md", report)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.audit_verify")
    main()

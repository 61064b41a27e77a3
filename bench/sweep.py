"""The deadline sweep with 100,000 and with 1,000,000 cases and the same cases due.

    .venv/bin/python -m bench.generate --cases 100000 --db rp_bench_100k --replace
    .venv/bin/python -m bench.sweep --small rp_bench_100k --large rp_bench

Both databases come from the generator with the same ``--open`` and seed, so they hold the very
same open cases and due dates (the open cases draw from a random stream of their own) and differ
only in history. Runs :func:`rights_portal.cases.reminders.sweep` in-process as of the
generator's reference date, ``--repeat`` times per database after one warm-up run, each run in
one transaction (``commit_each=False``; the task commits per batch of cases) rolled back so every
run does the same work (reminders inserted, mails rendered into the outbox, audit events
appended); the timed runs alternate between the two databases so the shared machine's changing
load falls on both alike. Reports the median time per database and the ratio large ÷ small,
which docs/rules.md#targets wants at most 1.1; saves the plan of the sweep's selection query.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import machine, make_app, meta, reference_date, write_result


class Sweeps:
    """One bench database: its app, a warm-up sweep, then timed sweeps one at a time."""

    def __init__(self, db: str) -> None:
        from sqlalchemy import event

        from rights_portal.cases.reminders import sweep
        from rights_portal.extensions import db as sa_db

        self.db = db
        self.app = make_app(db, f"/tmp/bench-sweep-{db}")
        self.today = reference_date(db)
        self.info = meta(db)
        self.timings: list[float] = []
        self.captured: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
            if not self.captured and "FROM cases" in statement:
                self.captured.append((statement, params))

        with self.app.app_context():
            event.listen(sa_db.engine, "before_cursor_execute", capture)
            # warm-up: caches, templates, the holiday calendar
            self.report = sweep(self.today, commit_each=False)
            sa_db.session.rollback()
            event.remove(sa_db.engine, "before_cursor_execute", capture)

    def run(self) -> None:
        from rights_portal.cases.reminders import sweep
        from rights_portal.extensions import db as sa_db

        with self.app.app_context():
            started = time.perf_counter()
            self.report = sweep(self.today, commit_each=False)
            sa_db.session.flush()
            self.timings.append(time.perf_counter() - started)
            sa_db.session.rollback()
            sa_db.session.expunge_all()

    def result(self) -> dict[str, Any]:
        from sqlalchemy import text

        from rights_portal.extensions import db as sa_db

        with self.app.app_context():
            statement, params = self.captured[0]
            plan = sa_db.session.connection().exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, params
            )
            plan_text = "\n".join(r[0] for r in plan)
            sa_db.session.rollback()
            total = sa_db.session.scalar(text("SELECT count(*) FROM cases"))
        report = self.report
        return {
            "db": self.db,
            "cases": total,
            "events": int(self.info.get("events", 0)),
            "today": self.today.isoformat(),
            "examined": report.cases_examined,
            "reminders": len(report.reminders_sent),
            "superseded": report.reminders_superseded,
            "escalations": len(report.escalations),
            "median_s": statistics.median(self.timings),
            "min_s": min(self.timings),
            "runs_s": self.timings,
            "plan": f"{' '.join(statement.split())}\n{params}\n{plan_text}",
        }


def measure(small_db: str, large_db: str, repeat: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Timed sweeps alternating between the databases, so the machine's noise hits both."""
    small, large = Sweeps(small_db), Sweeps(large_db)
    for _ in range(repeat):
        small.run()
        large.run()
    return small.result(), large.result()


def statements(db: str) -> list[str]:
    """One sweep with the time spent in each SQL statement, to find what grows with the data."""
    import collections

    from sqlalchemy import event

    from rights_portal.cases.reminders import sweep
    from rights_portal.extensions import db as sa_db

    app = make_app(db, f"/tmp/bench-sweep-{db}")
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])

    def before(conn: Any, *rest: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        entry = totals[" ".join(statement.split())[:80]]
        entry[0] += 1
        entry[1] += time.perf_counter() - conn.info.pop("bench_started")

    with app.app_context():
        today = reference_date(db)
        sweep(today, commit_each=False)  # warm-up
        sa_db.session.rollback()
        event.listen(sa_db.engine, "before_cursor_execute", before)
        event.listen(sa_db.engine, "after_cursor_execute", after)
        started = time.perf_counter()
        sweep(today, commit_each=False)
        sa_db.session.flush()
        elapsed = time.perf_counter() - started
        event.remove(sa_db.engine, "before_cursor_execute", before)
        event.remove(sa_db.engine, "after_cursor_execute", after)
        sa_db.session.rollback()
    waited = sum(t for _n, t in totals.values())
    lines = [
        f"### {db}: {elapsed:.1f} s, of which {waited:.1f} s waiting for SQL",
        "",
        "| s | count | ms each | statement |",
        "|---:|---:|---:|---|",
    ]
    for text, (count, seconds) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:8]:
        lines.append(f"| {seconds:.2f} | {count:.0f} | {seconds / count * 1000:.2f} | `{text}` |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", default="rp_bench_100k")
    parser.add_argument("--large", default="rp_bench")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per database (1-10)")
    parser.add_argument(
        "--statements", action="store_true", help="only the time per SQL statement, one run each"
    )
    args = parser.parse_args(argv)
    repeat = max(1, min(args.repeat, 10))
    if args.statements:
        before = machine()
        lines = [
            f"Deadline sweep, time per SQL statement, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"Load before: {before['uptime']}",
            "",
        ]
        lines += statements(args.small) + statements(args.large)
        lines.append(f"Load after: {machine()['uptime']}")
        report = "\n".join(lines) + "\n"
        print(report)
        write_result("sweep-statements.md", report)
        return
    before = machine()
    small, large = measure(args.small, args.large, repeat)
    if (small["today"], small["examined"], small["reminders"]) != (
        large["today"],
        large["examined"],
        large["reminders"],
    ):
        print("warning: the two databases do not have the same cases due; regenerate both")
    ratio = large["median_s"] / small["median_s"]
    lines = [
        f"Deadline sweep, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {before['cpu']}",
        f"Load before: {before['uptime']}",
        "",
        "| database | cases | open cases examined | reminders mailed | escalations |"
        " median s | runs s |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in (small, large):
        runs = ", ".join(f"{t:.2f}" for t in r["runs_s"])
        lines.append(
            f"| {r['db']} | {r['cases']:,} | {r['examined']:,} | {r['reminders']:,}"
            f" | {r['escalations']:,} | {r['median_s']:.2f} | {runs} |"
        )
    lines += [
        "",
        f"ratio large ÷ small: {ratio:.2f} of the medians, {large['min_s'] / small['min_s']:.2f}"
        " of the fastest runs (target ≤ 1.1: cost grows with the cases due, not all);"
        " the runs alternate between the databases",
        f"Load after: {machine()['uptime']}",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    write_result(f"sweep-{stamp}.md", report)
    write_result(
        "sweep-explain.txt",
        "\n\n".join(f"=== {r['db']} ({r['cases']:,} cases)\n{r['plan']}" for r in (small, large))
        + "\n",
    )


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.sweep")
    main()

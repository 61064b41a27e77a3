"""Appending to the audit trail: the cost of one append on a short and on a long trail.

    .venv/bin/python -m bench.audit_append --small rp_bench_100k --large rp_bench

Runs the real :func:`rights_portal.audit.services.record` in real transactions (one event, then
the commit, as a view does) against both databases in the same run, in alternating rounds so
the machine's noise falls on both alike, and reports per database the median and p95 of the
append (``record()``: chain lock, head, hash, insert) and of the commit, and the ratio
large ÷ small, which the issue wants ≤ 1.2 at ten times the events. It also counts, per index of
``audit_events``, the buffer pages each append had to read from outside shared_buffers
(``pg_statio_user_indexes``), and saves the plans of the statements ``record()`` issues
(``EXPLAIN (ANALYZE, BUFFERS)``) to ``audit-append-explain.txt``: that is where growth shows.

The appends are committed: they stay on the trail of the database (use copies, never the lead's
``rp_bench``). Bounded by ``--appends`` (at most 20,000 per database).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bench.common import load_average, machine, make_app, percentile, write_result


def index_reads(conn: Any) -> dict[str, tuple[int, int]]:
    """(pages read from outside shared buffers, pages hit) per index of audit_events so far."""
    rows = conn.exec_driver_sql(
        "SELECT indexrelname, idx_blks_read, idx_blks_hit FROM pg_statio_user_indexes"
        " WHERE relname = 'audit_events'"
        " UNION ALL SELECT '(table)', heap_blks_read, heap_blks_hit FROM pg_statio_user_tables"
        " WHERE relname = 'audit_events'"
    ).all()
    return {name: (int(read or 0), int(hit or 0)) for name, read, hit in rows}


class Trail:
    """One bench database, its app, and what its appends measured."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.app = make_app(db, f"/tmp/bench-audit-append-{db}")
        self.append_ms: list[float] = []
        self.commit_ms: list[float] = []
        self.reads_before: dict[str, tuple[int, int]] = {}
        self.reads_after: dict[str, tuple[int, int]] = {}
        self.statement_ms: dict[str, list[float]] = {}
        with self.app.app_context():
            from rights_portal.extensions import db as sa_db

            conn = sa_db.session.connection()
            self.events = int(conn.exec_driver_sql("SELECT count(*) FROM audit_events").scalar())
            self.case_ids = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT id FROM cases WHERE decided_at IS NULL ORDER BY id LIMIT 2000"
                )
            ]
            self.actor_id = conn.exec_driver_sql(
                "SELECT id FROM users WHERE email = 'handler1@staff.bench.example'"
            ).scalar()
            sa_db.session.rollback()

    def appends(self, count: int, rng: random.Random, *, timed: bool = True) -> None:
        from sqlalchemy import event

        from rights_portal.accounts.models import User
        from rights_portal.audit.services import record
        from rights_portal.extensions import db as sa_db
        from rights_portal.transactions import commit

        current: dict[str, float] = {}

        def before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            current["started"] = time.perf_counter()

        def after(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            key = " ".join(statement.split())[:60]
            spent = (time.perf_counter() - current.pop("started")) * 1000
            self.statement_ms.setdefault(key, []).append(spent)

        with self.app.app_context():
            user = sa_db.session.get(User, self.actor_id)
            # What record() reads of the actor, loaded once: a view's user is loaded already.
            actor = SimpleNamespace(id=user.id, role=user.role)
            sa_db.session.commit()
            if timed:
                event.listen(sa_db.engine, "before_cursor_execute", before)
                event.listen(sa_db.engine, "after_cursor_execute", after)
            for number in range(count):
                case_id = rng.choice(self.case_ids)
                started = time.perf_counter()
                record(
                    "bench.append",
                    actor=actor,
                    object_type="case",
                    object_id=case_id,
                    case_id=case_id,
                    before={"status": "received"},
                    after={"status": "in_review", "n": number},
                )
                recorded = time.perf_counter()
                commit()
                done = time.perf_counter()
                if timed:
                    self.append_ms.append((recorded - started) * 1000)
                    self.commit_ms.append((done - recorded) * 1000)
            if timed:
                event.remove(sa_db.engine, "before_cursor_execute", before)
                event.remove(sa_db.engine, "after_cursor_execute", after)

    def reads(self) -> dict[str, tuple[int, int]]:
        from rights_portal.extensions import db as sa_db

        with self.app.app_context():
            time.sleep(1.1)  # statistics reach the shared counters within a second
            result = index_reads(sa_db.session.connection())
            sa_db.session.rollback()
            return result

    def explain(self) -> str:
        """The plans of the statements one record() issues, run for real and rolled back."""
        from sqlalchemy import event

        from rights_portal.accounts.models import User
        from rights_portal.audit.services import record
        from rights_portal.extensions import db as sa_db

        captured: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
            if not statement.lstrip().upper().startswith("EXPLAIN"):
                captured.append((statement, params))

        out = []
        with self.app.app_context():
            actor = sa_db.session.get(User, self.actor_id)
            sa_db.session.commit()
            event.listen(sa_db.engine, "before_cursor_execute", capture)
            record(
                "bench.append",
                actor=actor,
                object_type="case",
                object_id=self.case_ids[0],
                case_id=self.case_ids[0],
                after={"status": "in_review"},
            )
            event.remove(sa_db.engine, "before_cursor_execute", capture)
            sa_db.session.rollback()
            conn = sa_db.session.connection()
            for statement, params in captured:
                plan = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + statement, params
                )
                out.append(" ".join(statement.split()))
                out.extend("    " + r[0] for r in plan)
            sa_db.session.rollback()
        return "\n".join(out)


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), percentile(ordered, 95)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", default="rp_bench_100k")
    parser.add_argument("--large", default="rp_bench")
    parser.add_argument("--appends", type=int, default=3000, help="timed appends per database")
    parser.add_argument("--rounds", type=int, default=10, help="alternations between databases")
    parser.add_argument("--label", default="", help="suffix of the report's name")
    args = parser.parse_args(argv)
    appends = max(100, min(args.appends, 20_000))
    per_round = max(1, appends // max(1, args.rounds))
    before = machine()
    rng = random.Random(23)
    trails = [Trail(args.small), Trail(args.large)]
    for trail in trails:  # warm-up: connections, caches, the ORM's compiled statements
        trail.appends(100, rng, timed=False)
    for trail in trails:
        trail.reads_before = trail.reads()
    load_samples = [load_average()]
    for _ in range(args.rounds):
        for trail in trails:
            trail.appends(per_round, rng)
        load_samples.append(load_average())
    for trail in trails:
        trail.reads_after = trail.reads()
    plans = [f"=== {t.db} ({t.events:,} events)\n{t.explain()}" for t in trails]

    small, large = trails
    (sa, sa95), (la, la95) = summary(small.append_ms), summary(large.append_ms)
    (sc, sc95), (lc, lc95) = summary(small.commit_ms), summary(large.commit_ms)
    lines = [
        f"Audit append, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {before['cpu']}",
        f"Load before: {before['uptime']}",
        f"Load during (1/5/15 min, once per round): {'; '.join(load_samples)}",
        "",
        "| database | events before | appends | record() median ms | p95 ms |"
        " commit median ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t, (a, a95), (c, c95) in (
        (small, (sa, sa95), (sc, sc95)),
        (large, (la, la95), (lc, lc95)),
    ):
        lines.append(
            f"| {t.db} | {t.events:,} | {len(t.append_ms):,} | {a:.3f} | {a95:.3f}"
            f" | {c:.3f} | {c95:.3f} |"
        )
    lines += [
        "",
        f"ratio large ÷ small, record() median: **{la / sa:.2f}** (p95 {la95 / sa95:.2f});"
        f" record() + commit median: {(la + lc) / (sa + sc):.2f}. Target ≤ 1.2.",
        "",
        "Each statement record() sends, as the client waits for it (median / p95 ms, count):",
        "",
        "| statement | " + " | ".join(t.db for t in trails) + " | ratio of medians |",
        "|---|" + "---:|" * (len(trails) + 1),
    ]
    for key in sorted(set().union(*(t.statement_ms for t in trails))):
        cells, medians = [], []
        for t in trails:
            values = sorted(t.statement_ms.get(key, []))
            if values:
                medians.append(statistics.median(values))
                cells.append(f"{medians[-1]:.3f} / {percentile(values, 95):.3f} ({len(values):,})")
            else:
                cells.append("—")
        ratio = f"{medians[1] / medians[0]:.2f}" if len(medians) == 2 else "—"
        lines.append(f"| `{key}` | " + " | ".join(cells) + f" | {ratio} |")
    lines += [
        "",
        "Pages read from outside shared_buffers per append, by relation (blocks read / hit):",
        "",
        "| relation | " + " | ".join(t.db for t in trails) + " |",
        "|---|" + "---:|" * len(trails),
    ]
    names = sorted(set().union(*(t.reads_after for t in trails)))
    for name in names:
        cells = []
        for t in trails:
            read0, hit0 = t.reads_before.get(name, (0, 0))
            read1, hit1 = t.reads_after.get(name, (0, 0))
            n = len(t.append_ms) or 1
            cells.append(f"{(read1 - read0) / n:.2f} / {(hit1 - hit0) / n:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Load after: {machine()['uptime']}"]
    report = "\n".join(lines) + "\n"
    print(report)
    suffix = f"-{args.label}" if args.label else ""
    write_result(f"audit-append{suffix}.md", report)
    write_result(f"audit-append-explain{suffix}.txt", "\n\n".join(plans) + "\n")


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.audit_append")
    main()

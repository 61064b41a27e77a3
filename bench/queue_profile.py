"""Where one staff-queue request spends its time, next to /account/security, in-process.

    .venv/bin/python -m bench.queue_profile --db rp_bench

The throughput target (``bench/queue_load.py``) compares the queue with ``/account/security``,
the cheapest logged-in page with the same layout. This script says where the difference goes:
it serves each page through the app in this process (Flask's test client, no server, no
network), as a logged-in case handler, and times the parts of a request by wrapping them — no
profiler, whose overhead would distort the template engine most:

* the whole request, for ``/healthz``, the login form, ``/account/security`` and each queue page;
* loading the logged-in user (Flask-Login's user loader and the session check it asks);
* waiting for SQL (every statement, from SQLAlchemy's cursor events);
* reading the page (``staff.queue.queue_page``: one statement for the rows and the capped
  count) and formatting its lines (``staff.queue_lines.lines_for``), without their SQL;
* rendering the template, and rendering it once more without rows (the fixed part: layout,
  navigation, the filter form).

Medians over ``--requests`` requests after a warm-up. Saves ``results/queue-profile.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.common import BENCH_PASSWORD, DEFAULT_DB, HANDLER_EMAIL, machine, make_app, write_result
from bench.queue import scenarios

Timings = defaultdict[str, float]


def wrap(owner: Any, name: str, timings: Timings, key: str) -> Callable[[], None]:
    """Time every call of ``owner.name`` into ``timings[key]``, and the SQL waited for in it
    into ``timings[key + " sql"]``; return the undo."""
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started, sql_before = time.perf_counter(), timings["sql"]
        try:
            return original(*args, **kwargs)
        finally:
            timings[key] += time.perf_counter() - started
            timings[key + " sql"] += timings["sql"] - sql_before

    setattr(owner, name, timed)
    return lambda: setattr(owner, name, original)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--requests", type=int, default=200, help="per page (at most 2,000)")
    args = parser.parse_args(argv)
    count = max(10, min(args.requests, 2000))

    app = make_app(args.db)
    app.config["WTF_CSRF_ENABLED"] = False  # the login below posts without a form token
    from flask import render_template as flask_render_template
    from sqlalchemy import event

    from rights_portal.extensions import db, login_manager
    from rights_portal.staff import queue as staff_queue
    from rights_portal.staff import views as staff_views

    timings: Timings = defaultdict(float)
    with app.app_context():
        engine = db.engine

    def before(conn: Any, *rest: Any) -> None:
        conn.info["bench_sql_started"] = time.perf_counter()

    def after(conn: Any, *rest: Any) -> None:
        timings["sql"] += time.perf_counter() - conn.info.pop("bench_sql_started")

    def render_twice(template: str, **context: Any) -> str:
        started = time.perf_counter()
        page = flask_render_template(template, **context)
        timings["render"] += time.perf_counter() - started
        if "lines" in context:
            started = time.perf_counter()
            flask_render_template(template, **{**context, "lines": []})
            timings["render without rows"] += time.perf_counter() - started
        return page

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    undo = [
        wrap(login_manager, "_user_callback", timings, "load user"),
        wrap(staff_queue, "queue_page", timings, "read page"),
        wrap(staff_views, "lines_for", timings, "format lines"),
    ]
    original_render = staff_views.render_template
    staff_views.render_template = render_twice  # type: ignore[assignment]

    client = app.test_client()
    response = client.post("/login", data={"email": HANDLER_EMAIL, "password": BENCH_PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"login failed ({response.status_code})")
    anonymous = app.test_client()
    pages: list[tuple[str, str, Any]] = [
        ("/healthz (reference)", "/healthz", anonymous),
        ("/login (form page)", "/login", anonymous),
        ("/account/security (reference)", "/account/security", client),
    ]
    pages += [(name, path, client) for name, path, who in scenarios(args.db) if who == "handler"]

    parts = (
        "load user",
        "sql",
        "read page",
        "read page sql",
        "format lines",
        "render",
        "render without rows",
    )
    rows: list[str] = []
    reference: float | None = None
    for name, path, who in pages:
        for _ in range(20):
            who.get(path)
        samples: dict[str, list[float]] = defaultdict(list)
        for _ in range(count):
            timings.clear()
            started = time.perf_counter()
            response = who.get(path)
            samples["total"].append(time.perf_counter() - started - timings["render without rows"])
            for part in parts:
                samples[part].append(timings[part])
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        median = {key: statistics.median(values) * 1000 for key, values in samples.items()}
        reading_python = median["read page"] - median["read page sql"]
        if reference is None and path == "/account/security":
            reference = median["total"]
        ratio = f"{reference / median['total']:.2f}" if reference else ""
        rows.append(
            f"| {name} | {median['total']:.2f} | {ratio} | {median['load user']:.2f}"
            f" | {median['sql']:.2f} | {reading_python:.2f} | {median['format lines']:.2f}"
            f" | {median['render without rows']:.2f}"
            f" | {median['render'] - median['render without rows']:.2f} |"
        )
        print(rows[-1], flush=True)
    staff_views.render_template = original_render  # type: ignore[assignment]
    for step in undo:
        step()

    report = "\n".join(
        [
            f"Staff queue, one request in-process (test client, no server), {args.db},"
            f" median of {count} per page, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"Machine: {machine()['cpu']}; load: {machine()['uptime']}",
            "",
            "All in ms. 'security ÷ page' is /account/security's time ÷ the page's (what its"
            " throughput would be, relative to the reference, if the time were all CPU). SQL is"
            " every statement's wait, the user's own included; 'read page' is building the queue"
            " query and reading its rows, without their SQL; 'format lines' the cells of the"
            " rows; the template is split into its fixed part (rendered again with no rows) and"
            " the rows.",
            "",
            "| page | total | security ÷ page | load user | SQL (all statements)"
            " | read page, Python | format lines | template, fixed part | template, 50 rows |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
        ]
    )
    print(report)
    write_result("queue-profile.md", report)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.queue_profile")
    main()

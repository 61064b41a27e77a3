"""The README's path, for real: ``make run``, a request filed over HTTP, the worker's mail.

``make run`` is started as a new user starts it — the same Makefile target, the same migrations,
demo seed and supervisor with its worker and beat as separate processes — only with the instance
folder in a temporary directory and a free port. A request filed as the demo student must
produce the acknowledgement ``.eml`` that the worker writes, within a bounded wait: on the
embedded default (SQLite database, SQLite broker) and on PostgreSQL with Redis. A worker that dies
stops ``make run`` with a message that says so.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT, free_port, recreate_database, wait_for

pytestmark = [pytest.mark.worker]

DEMO_PASSWORD = "demo-password-2026"
STARTUP_TIMEOUT = 240  # a fresh instance: migrations, demo seed (argon2 at full cost), three starts
ACK_TIMEOUT = 60  # the bound: the acknowledgement within a minute of filing
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
# Settings of the suite (and of the developer's shell) that a new user's `make run` never sees.
FOREIGN_ENV = ("RIGHTS_PORTAL_", "DATABASE_URL", "CELERY_", "SMTP_", "MAIL_", "TEST_", "PYTEST_")
FOREIGN_ENV_EXACT = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}


class Browser:
    """Cookies, CSRF tokens and redirects over real HTTP, as a person's browser keeps them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        return self._open(urllib.request.Request(self.base + path))  # noqa: S310 - loopback

    def post(self, path: str, data: dict[str, str], token_from: str) -> tuple[int, str, dict]:
        _, page, _ = self.get(token_from)
        match = CSRF_META.search(page)
        assert match, f"no CSRF token on {token_from}"
        body = urllib.parse.urlencode({**data, "csrf_token": match.group(1)}).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")  # noqa: S310
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[int, str, dict[str, str]]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), dict(error.headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the test reads the Location itself


@dataclass
class MakeRun:
    """One running ``make run`` in its own process group."""

    instance: Path
    port: int
    output: Path
    process: subprocess.Popen[bytes]
    browser: Browser = field(init=False)

    def __post_init__(self) -> None:
        self.browser = Browser(f"http://127.0.0.1:{self.port}")

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"make run ended ({self.process.returncode}):\n{self.text()[-3000:]}")
            try:
                if self.browser.get("/healthz")[0] == 200 and "The worker is up" in self.text():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail(f"make run did not serve within {STARTUP_TIMEOUT} s:\n{self.text()[-3000:]}")

    def mails(self) -> list[Message]:
        folder = self.instance / "mail"
        return [message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]

    def group_pids(self, pattern: str) -> list[int]:
        found = subprocess.run(
            ["pgrep", "-g", str(self.process.pid), "-f", pattern], capture_output=True, text=True
        )
        return [int(pid) for pid in found.stdout.split()]

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[callable]:
    started: list[MakeRun] = []

    def start(**settings: str) -> MakeRun:
        instance = tmp_path / f"instance-{len(started)}"
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(FOREIGN_ENV) and name not in FOREIGN_ENV_EXACT
        }
        env.update(RIGHTS_PORTAL_INSTANCE=str(instance), **settings)
        port = free_port()
        output = tmp_path / f"make-run-{len(started)}.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                ["make", "--no-print-directory", "run", f"PORT={port}"],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        run = MakeRun(instance, port, output, process)
        started.append(run)
        run.wait_until_serving()
        return run

    yield start
    for run in started:
        run.stop()


def file_objection_as_demo_student(run: MakeRun) -> str:
    """Log in as the demo student and file an objection over HTTP; return its reference."""
    browser = run.browser
    status, _, headers = browser.post(
        "/login",
        {"email": "student@demo.example", "password": DEMO_PASSWORD},
        token_from="/login",
    )
    assert status == 302, f"login failed ({status})"
    status, form, _ = browser.get("/my/cases/new/objection")
    assert status == 200
    exam_ids = [value for value in re.findall(r'<option value="(\d+)"', form) if value != "0"]
    assert exam_ids, "the demo student has no exam to object to"
    status, _, headers = browser.post(
        "/my/cases/new/objection",
        {
            "exam_id": exam_ids[0],
            "description": "Ik heb thuis geen rustige kamer; de camera filmt mijn huisgenoten.",
        },
        token_from="/my/cases/new/objection",
    )
    assert status == 302, f"filing failed ({status})"
    reference = headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert reference
    return reference


def acknowledgement_arrives(run: MakeRun, reference: str) -> Message:
    def found() -> Message | None:
        for message in run.mails():
            if reference in str(message["Subject"]) + message.get_payload(decode=True).decode():
                return message
        return None

    assert wait_for(lambda: found() is not None, ACK_TIMEOUT), (
        f"no acknowledgement of {reference} in {run.instance / 'mail'} within {ACK_TIMEOUT} s; "
        f"worker log:\n{(run.instance / 'worker.log').read_text(errors='replace')[-3000:]}"
    )
    message = found()
    assert message is not None
    assert "student@demo.example" in str(message["To"])
    return message


def test_make_run_on_the_embedded_default_mails_the_acknowledgement_and_stops_if_the_worker_dies(
    make_run,
):
    run = make_run()  # no settings at all: SQLite database and SQLite broker in the instance
    assert (run.instance / "rights_portal.sqlite").exists()
    assert (run.instance / "celery-broker.sqlite").exists()
    reference = file_objection_as_demo_student(run)
    acknowledgement_arrives(run, reference)

    status, body, _ = run.browser.get("/readyz")
    report = json.loads(body)
    assert status == 200, report
    assert report["worker"] == "up" and report["scheduler"] == "up"
    assert report["outbox"] == "ok"

    workers = run.group_pids("celery -A workers.celery_app worker")
    assert len(workers) == 1
    os.kill(workers[0], signal.SIGKILL)
    run.process.wait(30)
    assert run.process.returncode != 0
    output = run.text()
    assert "ERROR: the worker was killed by signal 9" in output
    assert "portal is stopped as well" in output
    assert not run.group_pids("flask --app wsgi run"), "the portal kept running without a worker"


@pytest.fixture
def journey_database(database_url: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own, which `make run` migrates and seeds."""
    url = sa.engine.make_url(database_url)
    url = url.set(database=f"{url.database}_journey")
    recreate_database(url)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        recreate_database(url, create=False)


@pytest.fixture
def journey_broker(redis_url: str) -> Iterator[str]:
    """A Redis database of its own (the suite's + 2), emptied before and after."""
    import redis

    base, _, number = redis_url.rpartition("/")
    url = f"{base}/{(int(number) + 2) % 16}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_make_run_on_postgresql_and_redis_mails_the_acknowledgement(
    make_run, journey_database, journey_broker
):
    run = make_run(DATABASE_URL=journey_database, CELERY_BROKER_URL=journey_broker)
    assert not (run.instance / "rights_portal.sqlite").exists()
    reference = file_objection_as_demo_student(run)
    acknowledgement_arrives(run, reference)
    status, body, _ = run.browser.get("/readyz")
    assert status == 200, body
    assert json.loads(body)["broker"] == "up"

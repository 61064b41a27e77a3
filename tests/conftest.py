"""Shared fixtures: a real PostgreSQL built by the migrations, a real SMTP sink, an app, a client.

PostgreSQL and Redis tests are skipped with the reason when the server cannot be reached, except
under CI=true, where they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

DEFAULT_TEST_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/rights_portal_test"
DEFAULT_TEST_REDIS = "redis://127.0.0.1:6379/14"
IN_CI = os.environ.get("CI", "").lower() == "true"
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: CI must never pass by skipping the integration tests."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: integration services are required)")
    pytest.skip(reason)


# --- SMTP sink ------------------------------------------------------------------------------


@dataclass
class SmtpSink:
    """A real SMTP server on loopback that keeps what it receives."""

    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if address in (m["To"] or "")]

    def subjects(self) -> list[str]:
        with self.lock:
            return [str(m["Subject"]) for m in self.messages]


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    with socket.socket() as probe:  # aiosmtpd's ready check needs a concrete port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = SmtpSink("127.0.0.1", port)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture(autouse=True)
def _clear_sink(request: pytest.FixtureRequest) -> None:
    if "smtp_sink" in request.fixturenames:
        request.getfixturevalue("smtp_sink").clear()


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url() -> str:
    """A fresh, empty PostgreSQL database for this test session."""
    url = sa.engine.make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DB))
    if XDIST_WORKER:  # each pytest-xdist worker gets a database of its own
        url = url.set(database=f"{url.database}_{XDIST_WORKER}")
    try:
        recreate_database(url)
    except sa.exc.OperationalError as exc:
        unavailable(f"PostgreSQL not reachable at {url.render_as_string()}: {exc.orig}")
    return url.render_as_string(hide_password=False)


def recreate_database(url: sa.URL, *, create: bool = True) -> None:
    """Drop the database that ``url`` names, ending its sessions; with ``create``, make it anew."""
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": url.database},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}"'))
            if create:
                conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    url = os.environ.get("TEST_REDIS_URL", DEFAULT_TEST_REDIS)
    if XDIST_WORKER:  # and a Redis database of its own: gw0 -> base, gw1 -> base + 1, …
        base, _, number = url.rpartition("/")
        url = f"{base}/{(int(number or 0) + int(XDIST_WORKER.removeprefix('gw'))) % 16}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.flushdb()
        client.close()
    except redis.exceptions.RedisError as exc:
        unavailable(f"Redis not reachable at {url}: {exc}")
    return url


# --- RabbitMQ, the second supported broker --------------------------------------------------

DEFAULT_TEST_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
BROKERS = ("redis", "rabbitmq")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """An AMQP URL on a vhost of this run's own, deleted at the end (``TEST_RABBITMQ_URL``).

    With a vhost named in ``TEST_RABBITMQ_URL`` that vhost is used as it is; otherwise one is
    made with rabbitmqctl (``rp_test_<random>``), so parallel runs never share a queue.
    """
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    from kombu import Connection

    base = os.environ.get("TEST_RABBITMQ_URL", DEFAULT_TEST_RABBITMQ)
    parts = urlsplit(base)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), 2).close()
    except OSError as exc:
        unavailable(f"RabbitMQ not reachable at {parts.hostname}:{parts.port or 5672}: {exc}")
    vhost = parts.path.removeprefix("/")
    made = ""
    if not vhost:
        made = vhost = f"rp_test_{uuid.uuid4().hex[:12]}"
        user = parts.username or "guest"
        try:
            _rabbitmqctl("add_vhost", vhost)
            _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        except (OSError, subprocess.SubprocessError) as exc:
            unavailable(f"could not make a RabbitMQ vhost with rabbitmqctl: {exc}")
    url = urlunsplit(parts._replace(path=f"/{vhost}"))
    try:
        with Connection(url, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=2)
    except Exception as exc:
        unavailable(f"RabbitMQ refused vhost {vhost!r}: {exc}")
    yield url
    if made:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            _rabbitmqctl("delete_vhost", made)


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis),
                        pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])  # fmt: skip
def broker_url(request: pytest.FixtureRequest) -> str:
    """Each supported production broker in turn: Redis, then RabbitMQ (its own vhost)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


# --- S3-compatible object stores: two independent implementations, real HTTP endpoints ------
#
# The S3 store is tested against moto's server (Python) and s3rver (Node, installed from the npm
# registry into tests/s3 by `make test` and .ci/run), each a real process on a free loopback
# port: what works on only one of them is a dependence on that server, not S3.

S3RVER = Path(__file__).resolve().parent / "s3" / "node_modules" / ".bin" / "s3rver"
S3_IMPLEMENTATIONS = ("moto", "s3rver")


@dataclass
class S3Server:
    """A local S3-compatible endpoint and the settings that point the portal at one bucket."""

    endpoint_url: str
    access_key: str = "testing"
    secret_key: str = "testing"
    name: str = "moto"

    def config(self, bucket: str) -> dict[str, Any]:
        return {
            "RECORDINGS_S3_BUCKET": bucket,
            "RECORDINGS_S3_ENDPOINT_URL": self.endpoint_url,
            "RECORDINGS_S3_REGION": "eu-west-1",
            "RECORDINGS_S3_ACCESS_KEY_ID": self.access_key,
            "RECORDINGS_S3_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="eu-west-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}),
        )

    def new_bucket(self) -> str:
        import uuid

        name = f"rp-test-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        return name


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve_s3(
    name: str, argv: list[str], port: int, log_path: Path, env: dict[str, str]
) -> Iterator[str]:
    """Run ``argv`` until its S3 endpoint on ``port`` answers; yield the endpoint, then stop it."""
    import urllib.error
    import urllib.request

    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                unavailable(
                    f"{name} S3 server did not start (exit {process.returncode}): "
                    f"{log_path.read_text(errors='replace')[-500:]}"
                )
            try:
                with urllib.request.urlopen(f"{endpoint}/", timeout=1):  # noqa: S310 - loopback
                    break
            except urllib.error.HTTPError:
                break  # it answers, even if with an error status
            except OSError:
                if time.monotonic() > deadline:
                    unavailable(f"{name} S3 server did not answer on {endpoint} within 30 s")
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server in a subprocess on a free loopback port, stopped at the end."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    for endpoint in _serve_s3("moto", argv, port, log_path, env):
        yield S3Server(endpoint_url=endpoint, name="moto")


@pytest.fixture(scope="session")
def s3rver_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """s3rver (Node) in a subprocess on a free loopback port, its objects in a temporary folder.

    Its fixed credentials are S3RVER/S3RVER; it checks every request's AWS signature with them.
    """
    if not S3RVER.exists():
        unavailable(f"s3rver is not installed ({S3RVER}); run `npm ci --prefix tests/s3`")
    port = free_port()
    folder = tmp_path_factory.mktemp("s3rver")
    argv = [
        str(S3RVER), "--directory", str(folder / "data"), "--address", "127.0.0.1",
        "--port", str(port), "--silent", "--no-vhost-buckets",
    ]  # fmt: skip
    for endpoint in _serve_s3("s3rver", argv, port, folder / "s3rver.log", dict(os.environ)):
        yield S3Server(endpoint, access_key="S3RVER", secret_key="S3RVER", name="s3rver")


@pytest.fixture(scope="session", params=S3_IMPLEMENTATIONS)
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """Each S3 implementation in turn: a test using it runs once against moto, once s3rver."""
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("instance")
    os.environ["RIGHTS_PORTAL_INSTANCE"] = str(path)
    os.environ["RIGHTS_PORTAL_ENV"] = "test"
    return str(path)


def test_config(database_url: str, smtp_sink: SmtpSink) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": smtp_sink.host,
        "SMTP_PORT": smtp_sink.port,
        "RATELIMIT_ENABLED": False,
        # argon2id at its cheapest: a login is milliseconds, not a second (production: defaults).
        "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
        "PORTAL_BASE_URL": "http://portal.test",
        "SERVER_NAME": None,
        # Tasks run in-process here; tests marked `worker` start a real worker on Redis.
        "CELERY": {"task_always_eager": True, "broker_url": "memory://"},
    }


class IsolatedClient(FlaskClient):
    """A test client whose requests start with an empty ``g``, as in production.

    Tests keep an app context open to read the database, and Flask reuses it for requests: without
    this, requests would share its ``g`` and so Flask-Login's cached user of an earlier request.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import g, has_app_context

        from rights_portal.extensions import db

        if not has_app_context():
            return super().open(*args, **kwargs)
        saved = dict(vars(g))
        vars(g).clear()
        try:
            return super().open(*args, **kwargs)
        finally:
            vars(g).clear()
            vars(g).update(saved)
            db.session.expire_all()


@pytest.fixture(scope="session")
def app(database_url: str, smtp_sink: SmtpSink, instance_dir: str) -> Iterator[Flask]:
    from flask_migrate import upgrade

    from rights_portal import create_app

    flask_app = create_app(test_config(database_url, smtp_sink))
    flask_app.test_client_class = IsolatedClient
    with flask_app.app_context():
        upgrade()  # the schema comes from the migrations, as in production
    yield flask_app
    with flask_app.app_context():
        from rights_portal.extensions import db

        db.engine.dispose()


@pytest.fixture
def make_other_app(app: Flask) -> Iterator[Callable[[dict[str, Any]], Flask]]:
    """Build extra apps for one test; their database connections are closed afterwards.

    An app left to the garbage collector leaves its pooled PostgreSQL connections open, and
    psycopg's ResourceWarning then fails whichever later test the collector happens to run in.
    Celery's shared tasks bind to the newest app, so they are handed back to the suite's app.
    """
    from rights_portal import create_app
    from rights_portal.extensions import db

    made: list[Flask] = []

    def make(config: dict[str, Any]) -> Flask:
        made.append(create_app(config))
        return made[-1]

    try:
        yield make
    finally:
        for other in made:
            with other.app_context():
                db.session.remove()
                db.engine.dispose()
        app.extensions["celery"].set_default()


@pytest.fixture
def sqlite_app(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """A second app on an empty SQLite file, the embedded default; the test migrates it.

    Celery's shared tasks bind to the newest app, so they are handed back to the suite's app
    afterwards.
    """
    from rights_portal import create_app

    other = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'portal.sqlite'}",
            "RATELIMIT_ENABLED": False,
            "CELERY": {"task_always_eager": True, "broker_url": "memory://"},
        }
    )
    try:
        yield other
        with other.app_context():
            from rights_portal.extensions import db

            db.session.remove()
            db.engine.dispose()
    finally:
        app.extensions["celery"].set_default()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table after a test that used the database (TRUNCATE keeps the schema).

    The audit trail refuses TRUNCATE by trigger (R24); the replica role switches user triggers
    off for this one cleanup transaction only (the test user is a superuser, as it must be).
    The anchor log goes with the trail it anchors.
    """
    yield
    if "app" not in request.fixturenames:
        return
    flask_app = request.getfixturevalue("app")
    from rights_portal.extensions import db

    with flask_app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        anchors = flask_app.config.get("AUDIT_ANCHOR_FILE")
        if anchors and os.path.exists(anchors):
            os.remove(anchors)


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- HTTP helpers ---------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def post_form(
    client: FlaskClient,
    path: str,
    data: dict[str, Any],
    *,
    token_from: str | None = None,
    **kw: Any,
) -> Any:
    token = csrf_token(client, token_from or path)
    return client.post(path, data={**data, "csrf_token": token}, **kw)


def login(client: FlaskClient, email: str, password: str = "correct-horse-battery") -> Any:
    response = post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


# --- Real Celery workers -------------------------------------------------------------------


def wait_for(predicate: Any, timeout: float = 40.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def start_worker(
    database_url, redis_url, instance_dir, tmp_path
) -> Iterator[Callable[..., subprocess.Popen]]:
    processes: list[subprocess.Popen] = []
    logs: list[Any] = []

    def start(
        smtp_port: int,
        *,
        queues: Sequence[str] | None = None,
        broker_url: str | None = None,
        include: Sequence[str] = (),
        **extra_env: str,
    ) -> subprocess.Popen:
        """A solo worker taking ``queues`` (all by default) from ``broker_url`` (Redis).

        ``include`` names extra task modules for it to load (``tests.slow_tasks``).
        """
        from rights_portal.config import ALL_QUEUES

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url or redis_url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "RIGHTS_PORTAL_INSTANCE": instance_dir,
            "RIGHTS_PORTAL_ENV": "test",
            **extra_env,
        }
        log = (tmp_path / f"worker-{len(processes)}.log").open("w")
        logs.append(log)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers.celery_app",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "-Q",
                ",".join(queues or ALL_QUEUES),
                "-n",
                f"test-{os.getpid()}-{len(processes)}@%h",
                *(["--include", ",".join(include)] if include else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
    for log in logs:
        log.close()


ROOT = Path(__file__).resolve().parent.parent


# --- an OpenID provider (institutional login) -------------------------------------------------


def _provider_command(port: int) -> list[str]:
    script = Path(sys.executable).with_name("oidc-provider-mock")
    return [str(script), "--port", str(port), "--require-nonce", "true"]


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """oidc-provider-mock as its own process on a free loopback port; its URL is the issuer."""
    import requests

    port = free_port()
    log = (tmp_path_factory.mktemp("oidc") / "provider.log").open("w")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        _provider_command(port), stdout=log, stderr=subprocess.STDOUT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/.well-known/openid-configuration", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            unavailable("oidc-provider-mock did not start")
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(10)
    log.close()

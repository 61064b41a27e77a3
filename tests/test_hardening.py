"""Headers, readiness and logs: what a browser and an operator can rely on.

See docs/rules.md#architecture.

- every page sends a strict CSP without inline script, frame-ancestors none, nosniff; HSTS
  outside development; download pages send Referrer-Policy no-referrer;
- /readyz reports database, broker, storage and delivery as JSON, 503 when one is down;
- JSON log lines carry the request id that the response (and the audit event) carries.
"""

from __future__ import annotations

import json
import logging

import pytest

from rights_portal import DOWNLOAD_ENDPOINTS, create_app
from rights_portal.extensions import db
from rights_portal.health import JsonFormatter
from tests import conftest

pytestmark = pytest.mark.postgres


def test_every_page_sends_a_strict_content_security_policy(app, client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script anywhere
    assert "Strict-Transport-Security" not in response.headers  # development: plain http


def test_hsts_is_sent_outside_development(app, database_url, smtp_sink, make_other_app):
    config = conftest.test_config(database_url, smtp_sink)
    config.update(SESSION_COOKIE_SECURE=True)
    production_like = make_other_app(config)
    response = production_like.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_download_pages_send_no_referrer(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints >= DOWNLOAD_ENDPOINTS  # the list names real routes
    with app.test_request_context("/anything", headers={}):
        from flask import request

        request.url_rule = next(
            r for r in app.url_map.iter_rules() if r.endpoint == "access.download"
        )
        response = app.make_response(("file", 200))
        response = app.process_response(response)
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_an_attachment_response_sends_no_referrer_and_a_page_same_origin(
    app, database_url, smtp_sink, make_other_app
):
    fresh = make_other_app(conftest.test_config(database_url, smtp_sink))
    fresh.add_url_rule(
        "/__test_attachment",
        "test_attachment",
        lambda: ("x", 200, {"Content-Disposition": "attachment; filename=x.zip"}),
    )
    client = fresh.test_client()
    assert client.get("/__test_attachment").headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/healthz").headers["Referrer-Policy"] == "same-origin"


def test_readiness_reports_each_dependency_as_json(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "up",
        "broker": "up",
        "storage": "up",
        # The suite runs tasks in-process: no worker or scheduler to wait for.
        "worker": "in-process",
        "worker_last_seen": None,
        "scheduler": "in-process",
        "scheduler_last_seen": None,
        "outbox": "ok",
        "outbox_oldest_unsent_age_seconds": None,
    }


def test_readiness_is_503_when_the_broker_is_down_and_answers_quickly(app, database_url, smtp_sink):
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = conftest.test_config(database_url, smtp_sink)
    config["CELERY"] = {"broker_url": f"redis://127.0.0.1:{port}/0"}
    broken = create_app(config)
    started = time.monotonic()
    response = broken.test_client().get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "up",
        "broker": "down",
        "storage": "up",
        # Tasks go to that broker, and no worker or scheduler ever reported.
        "worker": "down",
        "worker_last_seen": None,
        "scheduler": "down",
        "scheduler_last_seen": None,
        "outbox": "ok",
        "outbox_oldest_unsent_age_seconds": None,
    }
    with broken.app_context():
        db.engine.dispose()
    app.extensions["celery"].set_default()


def test_readiness_is_503_when_storage_is_not_writable(app, database_url, smtp_sink, tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("in the way")
    config = conftest.test_config(database_url, smtp_sink)
    config["RECORDINGS_DIR"] = str(blocked / "recordings")
    broken = create_app(config)
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["storage"] == "down"
    assert response.get_json()["database"] == "up"
    with broken.app_context():
        db.engine.dispose()
    app.extensions["celery"].set_default()


def test_json_log_lines_carry_the_request_id_of_the_request(app):
    formatter = JsonFormatter()
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    handler = Collect()
    app.logger.addHandler(handler)
    try:
        with app.test_request_context("/", headers={"X-Request-ID": "abcdef12-3456"}):
            app.preprocess_request()
            app.logger.warning("something to note")
    finally:
        app.logger.removeHandler(handler)
    entry = json.loads(lines[-1])
    assert entry["request_id"] == "abcdef12-3456"
    assert entry["message"] == "something to note"
    assert entry["level"] == "WARNING"


@pytest.mark.parametrize(
    ("broker_url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", {"socket_connect_timeout": 2}),
        ("rediss://cache.example:6380/0", {"socket_connect_timeout": 2}),
        ("sqla+sqlite:////tmp/broker.sqlite", {}),
        ("sqla+postgresql://u@db/broker", {}),
        ("amqp://guest@127.0.0.1:5672//", {}),
    ],
)
def test_each_broker_gets_only_the_transport_options_it_understands(
    broker_url, expected, tmp_path
):
    from rights_portal.config import build_config

    config = build_config(tmp_path, {"CELERY": {"broker_url": broker_url}})
    assert config["CELERY"]["broker_transport_options"] == expected


def test_the_embedded_sqlite_broker_accepts_the_configured_options(tmp_path):
    # kombu's SQLAlchemy transport hands every transport option to create_engine: a Redis
    # socket option there killed the worker at start (make run then sent no mail at all).
    from kombu import Connection

    from rights_portal.config import build_config

    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    options = build_config(tmp_path, {"CELERY": {"broker_url": url}})["CELERY"]
    with Connection(url, transport_options=options["broker_transport_options"]) as conn:
        queue = conn.SimpleQueue("probe")
        queue.put({"ok": True})
        assert queue.get(timeout=5).payload == {"ok": True}
        queue.close()


def test_authenticated_pages_and_downloads_are_sent_with_cache_control_no_store(app, app_ctx):
    from tests.factories import UserFactory

    UserFactory(email="cached@uni.example")
    db.session.commit()
    client = app.test_client()
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    conftest.login(client, "cached@uni.example")
    for path in ("/my/cases", "/account/security"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store", path
    # A download sent anonymously (an expired link's answer) is not cached either.
    with app.test_request_context("/anything"):
        from flask import request

        request.url_rule = next(
            r for r in app.url_map.iter_rules() if r.endpoint == "access.download"
        )
        response = app.process_response(app.make_response(("file", 200)))
    assert response.headers["Cache-Control"] == "no-store"

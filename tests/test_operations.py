"""CLI commands, health endpoints, error pages and the embedded mail backend.

The audit chain and its verifier are tested in ``test_audit_trail.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from rights_portal.accounts.models import User
from rights_portal.exams.models import Exam, Recording
from rights_portal.extensions import db
from rights_portal.notifications import mail
from tests.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.postgres


def test_demo_seed_is_safe_to_run_twice(app, app_ctx):
    runner = CliRunner()
    first = runner.invoke(app.cli, ["demo", "seed"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "student@demo.example" in first.output and "demo-password-2026" in first.output
    counts = [
        db.session.scalar(select(func.count()).select_from(m)) for m in (User, Exam, Recording)
    ]
    second = runner.invoke(app.cli, ["demo", "seed"], catch_exceptions=False)
    assert second.exit_code == 0
    assert [
        db.session.scalar(select(func.count()).select_from(m)) for m in (User, Exam, Recording)
    ] == counts
    assert counts[0] == 10
    recordings = db.session.scalars(select(Recording)).all()
    assert recordings and all(r.flags and r.files for r in recordings)


def test_demo_student_can_log_in(app, app_ctx):
    CliRunner().invoke(app.cli, ["demo", "seed"], catch_exceptions=False)
    login(app.test_client(), "student@demo.example", "demo-password-2026")


def test_health_endpoints(app):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["database"] == "up"


def test_unknown_page_is_a_friendly_404_in_dutch(app):
    response = app.test_client().get("/no/such/page")
    assert response.status_code == 404
    assert "Deze pagina bestaat niet" in response.get_data(as_text=True)


def test_security_headers_are_set(app):
    response = app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Request-ID"]


def test_malformed_queue_cursor_is_a_400_not_a_500(app, app_ctx):
    from rights_portal.accounts.models import Role

    UserFactory(email="h@uni.example", role=Role.CASE_HANDLER)
    db.session.commit()
    client = app.test_client()
    login(client, "h@uni.example")
    assert client.get("/staff/queue?after=garbage").status_code == 400
    assert client.get("/staff/queue?after=2026-13-01_x").status_code == 400
    assert client.get("/staff/queue?type=nonsense&status=nonsense").status_code == 200


def test_embedded_mail_backend_writes_eml_files(tmp_path: Path):
    config = {"MAIL_BACKEND": "file", "MAIL_DIR": str(tmp_path), "MAIL_FROM": "privacy@uni.example"}
    message = mail.build_message(config, ["a@uni.example"], "Onderwerp", "Tekst ë", 7)
    mail.send(config, message)
    [written] = list(tmp_path.glob("*.eml"))
    content = written.read_bytes()
    assert b"Subject: Onderwerp" in content and b"X-Rights-Portal-Outbox-Id: 7" in content

"""Control characters in text never reach the database (issue 20, finding 2).

A NUL byte in a case description, a message, a duplicate reference or a search used to give a
500 (PostgreSQL text cannot hold NUL, and the error page then failed as well). Every text field
of every form now refuses NUL and the other control characters with a message in the person's
language and a 400; a text area keeps newline and tab. Query parameters are checked too.
"""

from __future__ import annotations

import contextlib

import pytest
import time_machine
from sqlalchemy import func, select

from rights_portal.cases.models import Case, CaseMessage
from rights_portal.extensions import db
from rights_portal.forms import has_control_characters
from tests.conftest import CSRF_RE, login, post_form
from tests.factories import UserFactory
from tests.test_authorization import NOW, world  # noqa: F401  (the fixture)
from tests.test_fuzz import discover

pytestmark = pytest.mark.postgres
NL_MESSAGE = "Deze tekst bevat een stuurteken"
EN_MESSAGE = "This text contains a control character"


def cases_count() -> int:
    return db.session.scalar(select(func.count(Case.id))) or 0


def test_the_check_keeps_newline_and_tab_in_multi_line_text_only():
    assert has_control_characters("a\x00b", multiline=True)
    assert has_control_characters("a\x1bb", multiline=True)
    assert has_control_characters("a\x85b", multiline=True)  # C1: next line
    assert not has_control_characters("line one\r\n\tline two", multiline=True)
    assert has_control_characters("line one\nline two")
    assert not has_control_characters("Ærø — 😀 \u00a0")


def test_a_nul_byte_in_a_case_description_is_a_400_in_dutch_and_nothing_is_stored(app, app_ctx):
    UserFactory(email="nul@uni.example", locale="nl")
    db.session.commit()
    client = app.test_client()
    login(client, "nul@uni.example")
    response = post_form(
        client, "/my/cases/new/access", {"scope": "all", "description": "zie\x00bijlage"}
    )
    assert response.status_code == 400
    assert NL_MESSAGE in response.get_data(as_text=True)
    assert cases_count() == 0
    # Newlines and tabs are ordinary multi-line text.
    ok = post_form(
        client, "/my/cases/new/access", {"scope": "all", "description": "regel 1\r\n\tregel 2"}
    )
    assert ok.status_code == 302
    assert cases_count() == 1


def test_a_nul_byte_in_a_message_is_a_400_and_nothing_is_stored(app, app_ctx):
    UserFactory(email="writer@uni.example")
    db.session.commit()
    client = app.test_client()
    login(client, "writer@uni.example")
    post_form(client, "/my/cases/new/access", {"scope": "all"})
    reference = db.session.scalars(select(Case.reference)).one()
    path = f"/my/cases/{reference}/messages"
    response = post_form(client, path, {"body": "\x00"}, token_from=f"/my/cases/{reference}")
    assert response.status_code == 400
    assert EN_MESSAGE in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CaseMessage.id))) == 0


def test_a_control_character_in_a_query_parameter_is_a_400_with_the_message(app, app_ctx):
    UserFactory(email="dpo-search@uni.example", role="dpo", student_number=None)
    db.session.commit()
    client = app.test_client()
    login(client, "dpo-search@uni.example")
    for path in (
        "/staff/dpo/?from=2026-01-01%00",
        "/staff/audit/?case=RP%00",
        "/staff/?q=%1b[31m",
    ):
        response = client.get(path)
        assert response.status_code == 400, path
        assert EN_MESSAGE in response.get_data(as_text=True), path


def test_every_text_field_of_every_form_refuses_a_nul_byte_without_a_5xx(app, world):  # noqa: F811
    with time_machine.travel(NOW, tick=True):
        forms, clients = discover(app, world)
        assert len(forms) >= 30
        tried = refused = 0
        for form in forms:
            client = clients[form.role]
            page = client.get("/a-page-that-does-not-exist")
            token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
            free = [name for name, options in form.fields.items() if not options]
            if not free:
                continue
            data = {
                name: (options[-1] if options else "x\x00y")
                for name, options in form.fields.items()
            }
            response = client.post(form.action, data={**data, "csrf_token": token})
            tried += 1
            assert response.status_code < 500, f"{form.role} POST {form.action}"
            body = response.get_data(as_text=True)
            if form.action == "/language":  # a switch that only redirects, storing nothing
                assert response.status_code == 302
                continue
            assert response.status_code == 400, f"{form.role} POST {form.action}"
            assert EN_MESSAGE in body or NL_MESSAGE in body, f"{form.role} POST {form.action}"
            refused += 1
    print(f"\nNUL in every free text field: {tried} forms, {refused} refused with the message")
    assert tried >= 20


def test_the_error_pages_render_after_a_failed_statement_and_never_answer_empty(
    app, database_url, smtp_sink, make_other_app
):
    import sqlalchemy as sa
    from flask_login import current_user

    from tests import conftest

    other = make_other_app(
        {**conftest.test_config(database_url, smtp_sink), "PROPAGATE_EXCEPTIONS": False}
    )

    @other.route("/_test/failed-statement")
    def failed_statement():
        # A view that swallowed the error leaves the transaction aborted.
        with contextlib.suppress(sa.exc.DBAPIError):
            db.session.execute(sa.text("SELECT 1/0"))
        _ = current_user.full_name  # the layout reads the user
        raise RuntimeError("boom")

    @other.route("/_test/nul-insert")
    def nul_insert():
        db.session.execute(sa.text("SELECT :v"), {"v": "a\x00b"})
        return "stored"

    with other.app_context():
        UserFactory(email="broken@uni.example")
        db.session.commit()
    client = other.test_client()
    login(client, "broken@uni.example")
    crashed = client.get("/_test/failed-statement")
    assert crashed.status_code == 500
    assert "Something went wrong" in crashed.get_data(as_text=True)
    refused = client.get("/_test/nul-insert")  # a NUL that no form check caught
    assert refused.status_code == 400
    assert EN_MESSAGE in refused.get_data(as_text=True)

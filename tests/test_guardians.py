"""Parents and guardians acting for children under 16, over HTTP on PostgreSQL (R20, R21).

A parent registers (or is invited), asks to be linked to their child, a case handler verifies the
link, and the parent files for the child and receives the answer. The child under 16 cannot file
alone; from the 16th birthday the child files alone and the guardian sees nothing new. Pending,
rejected and revoked links give access to nothing; two guardians and siblings stay apart.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy import func, select

from rights_portal.accounts.models import GuardianInvitation, GuardianLink, LinkStatus, Role, User
from rights_portal.audit.models import AuditEvent
from rights_portal.cases import services as cases
from rights_portal.cases.deadlines import AMSTERDAM
from rights_portal.cases.models import Case, CaseType
from rights_portal.extensions import db
from rights_portal.notifications.models import OutboxMessage
from tests.conftest import login, post_form
from tests.factories import (
    PASSWORD,
    ExamFactory,
    ProgrammeFactory,
    UserFactory,
    board_member,
    guardian_link,
)

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)  # a Monday
CHILD_BORN = date(2011, 1, 10)  # 15 on NOW, 16 on Sunday 10 January 2027


@pytest.fixture
def world(app_ctx):
    programme = ProgrammeFactory(code="PSY")
    people = {
        "child": UserFactory(
            email="noor@uni.example",
            full_name="Noor Jansen",
            student_number="s2011001",
            date_of_birth=CHILD_BORN,
            programme_id=programme.id,
        ),
        "handler": UserFactory(email="handler@uni.example", role=Role.CASE_HANDLER),
        "board": board_member(programme, email="board@uni.example"),
    }
    exam = ExamFactory(
        programme=programme,
        course_code="PSY-101",
        starts_at=datetime(2026, 12, 14, 9, 0, tzinfo=AMSTERDAM),
    )
    db.session.commit()
    return {"exam": exam, "programme": programme, **people}


def guardian(email: str, name: str = "Marieke Jansen") -> User:
    user = UserFactory(email=email, full_name=name, role=Role.GUARDIAN)
    db.session.flush()
    return user


def submit_registration(client, email, name="Marieke Jansen", password=PASSWORD):
    return post_form(
        client,
        "/register",
        {"full_name": name, "email": email, "password": password, "confirm": password},
        headers={"Accept-Language": "en"},  # the account takes the language of the page
    )


VERIFY_RE = re.compile(r"/register/verify/(\S+)")


def verification_path(email: str) -> str | None:
    """The newest verification link in the outbox for ``email`` (what the mail carries)."""
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).all()
    for message in rows:
        if email in message.to_addresses and (match := VERIFY_RE.search(message.body_text)):
            return f"/register/verify/{match.group(1)}"
    return None


def register(client, email, name="Marieke Jansen", password=PASSWORD):
    """Register, follow the e-mailed link and log in: a parent's usable account."""
    response = submit_registration(client, email, name, password)
    if response.status_code == 302:
        path = verification_path(email.lower())
        assert path, "no verification link was mailed"
        assert client.get(path).status_code == 302
        login(client, email, password)
    return response


def ask_link(client, number, born, basis="parental_authority"):
    return post_form(
        client,
        "/my/children/new",
        {"student_number": number, "date_of_birth": born, "basis": basis},
    )


def staff_post(client, url, data, page):
    return post_form(client, url, data, token_from=page)


def verify(client, link_id, seen_on="2026-11-23"):
    page = f"/staff/guardians/{link_id}"
    return staff_post(
        client,
        f"{page}/verify",
        {
            "method": "in_person",
            "document_type": "custody_register_extract",
            "document_seen_on": seen_on,
        },
        page,
    )


def logged_in(app, email):
    client = app.test_client()
    login(client, email)
    return client


def file_for(client, link_id, case_type="access", **data):
    data.setdefault("description", "All recordings of my child")
    return post_form(client, f"/my/children/{link_id}/cases/new/{case_type}", data)


def body(message) -> str:
    return message.get_payload(decode=True).decode()


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- R20: a 15-year-old cannot file alone -------------------------------------------------------


@time_machine.travel(NOW, tick=True)
def test_a_15_year_old_cannot_file_alone_and_nothing_is_stored(app, world):
    child = logged_in(app, "noor@uni.example")
    before = actions()

    page = child.get("/my/cases")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "your parent or guardian makes privacy requests for you" in text
    assert "/my/cases/new/access" not in text  # no "Start" buttons

    form = child.get("/my/cases/new/access")
    assert form.status_code == 403
    assert "Your parent or guardian makes this request for you" in form.get_data(as_text=True)
    response = post_form(
        child,
        "/my/cases/new/objection",
        {"exam_id": world["exam"].id, "description": "Filming at home scares me."},
        token_from="/my/cases",
    )
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert actions() == before


# --- R20/R21: the verified guardian files and receives the answer -------------------------------


@time_machine.travel(NOW, tick=True)
def test_a_verified_guardian_files_for_the_child_and_receives_the_answer(app, world, smtp_sink):
    parent = app.test_client()
    assert register(parent, "marieke@home.example").status_code == 302
    smtp_sink.clear()  # the verification link
    response = ask_link(parent, "S2011001 ", "2011-01-10")  # case and spaces do not matter
    assert response.status_code == 302
    assert response.headers["Location"] == "/my/children"
    link = db.session.scalars(select(GuardianLink)).one()
    assert link.status is LinkStatus.PENDING
    assert link.student_id == world["child"].id

    # Pending: nothing yet, and the parent reads what happens next.
    page = parent.get("/my/children").get_data(as_text=True)
    assert "Your request will be checked" in page and "What happens next" in page
    assert "Noor Jansen" not in page
    assert parent.get(f"/my/children/{link.id}/cases/new/access").status_code == 404

    handler = logged_in(app, "handler@uni.example")
    assert "Marieke Jansen" in handler.get("/staff/guardians").get_data(as_text=True)
    assert verify(handler, link.id).status_code == 302
    db.session.expire_all()
    link = db.session.get(GuardianLink, link.id)
    assert link.status is LinkStatus.VERIFIED
    assert link.verified_by_id == world["handler"].id
    assert link.document_seen_on == date(2026, 11, 23)
    [verified_mail] = smtp_sink.to("marieke@home.example")
    assert "Noor Jansen" in verified_mail["Subject"]

    # Every request type, with the child's exams to choose from.
    page = parent.get("/my/children").get_data(as_text=True)
    for kind in CaseType:
        assert f"/my/children/{link.id}/cases/new/{kind.value}" in page
    form = parent.get(f"/my/children/{link.id}/cases/new/objection").get_data(as_text=True)
    assert "PSY-101" in form and "For your child: Noor Jansen" in form
    response = file_for(
        parent,
        link.id,
        "objection",
        exam_id=world["exam"].id,
        description="Our daughter panics when she is filmed at home.",
    )
    assert response.status_code == 302
    case = db.session.scalars(select(Case)).one()
    assert case.subject_id == world["child"].id
    assert case.filed_by_id == link.guardian_id
    assert "Noor Jansen" in parent.get("/my/cases").get_data(as_text=True)
    assert [m["Subject"] for m in smtp_sink.to("marieke@home.example")][-1].startswith(
        "We have received your request"
    )

    board = logged_in(app, "board@uni.example")
    url = f"/staff/cases/{case.reference}"
    assert "Marieke Jansen" in board.get(url).get_data(as_text=True)  # filed by
    response = staff_post(board, f"{url}/assign", {"assignee_id": world["board"].id}, url)
    assert response.status_code == 302
    response = staff_post(
        board,
        f"{url}/decide",
        {"outcome": "granted", "reasons": "She takes the exam on campus."},
        url,
    )
    assert response.status_code == 302

    # R20: the answer goes to the guardian who filed, not to the child.
    decision = [m for m in smtp_sink.to("marieke@home.example") if "decision" in m["Subject"]]
    assert len(decision) == 1
    assert f"/my/cases/{case.reference}" in body(decision[0])
    assert smtp_sink.to("noor@uni.example") == []
    assert "She takes the exam on campus." in parent.get(url.replace("/staff", "/my")).get_data(
        as_text=True
    )
    child = logged_in(app, "noor@uni.example")
    assert child.get(f"/my/cases/{case.reference}").status_code == 404
    assert case.reference not in child.get("/my/cases").get_data(as_text=True)

    assert {
        "guardian.registered",
        "guardian_link.requested",
        "guardian_link.verified",
        "case.received",
    } <= set(actions())


# --- R20: the 16th birthday -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "birthday"),
    [(CHILD_BORN, date(2027, 1, 10)), (date(2012, 2, 29), date(2028, 2, 29))],
    ids=["10-january", "29-february"],
)
def test_on_the_16th_birthday_the_guardian_loses_access_to_new_cases(
    app, world, smtp_sink, born, birthday
):
    child_user = world["child"]
    child_user.date_of_birth = born
    parent_user = guardian("marieke@home.example")
    link = guardian_link(parent_user, child_user, verifier=world["handler"])
    db.session.commit()

    day_before = datetime.combine(birthday - timedelta(days=1), datetime.min.time(), AMSTERDAM)
    with time_machine.travel(day_before + timedelta(hours=23, minutes=50), tick=True):
        parent = logged_in(app, "marieke@home.example")
        assert file_for(parent, link.id).status_code == 302
        child = logged_in(app, "noor@uni.example")
        assert child.get("/my/cases/new/access").status_code == 403
    earlier = db.session.scalars(select(Case)).one()

    on_birthday = datetime.combine(birthday, datetime.min.time(), AMSTERDAM)
    with time_machine.travel(on_birthday + timedelta(minutes=5), tick=True):
        refused = parent.get(f"/my/children/{link.id}/cases/new/access")
        assert refused.status_code == 403
        assert "Noor Jansen now makes requests alone" in refused.get_data(as_text=True)
        assert file_for(parent, link.id).status_code == 403
        assert db.session.scalar(select(func.count(Case.id))) == 1
        children = parent.get("/my/children").get_data(as_text=True)
        assert "is 16 or older and makes requests alone" in children
        assert f"/my/children/{link.id}/cases/new/" not in children

        # The child files alone from today; the guardian does not see it.
        response = post_form(child, "/my/cases/new/access", {"description": "My recordings"})
        assert response.status_code == 302
        new = db.session.scalars(select(Case).where(Case.filed_by_id == child_user.id)).one()
        assert parent.get(f"/my/cases/{new.reference}").status_code == 404
        listing = parent.get("/my/cases").get_data(as_text=True)
        assert new.reference not in listing

        # What the guardian filed earlier stays theirs, answer included.
        assert earlier.reference in listing
        assert parent.get(f"/my/cases/{earlier.reference}").status_code == 200
        handler = logged_in(app, "handler@uni.example")
        url = f"/staff/cases/{earlier.reference}"
        staff_post(handler, f"{url}/assign", {"assignee_id": world["handler"].id}, url)
        response = staff_post(
            handler, f"{url}/decide", {"outcome": "granted", "reasons": "Copy enclosed."}, url
        )
        assert response.status_code == 302
    decision = [m for m in smtp_sink.to("marieke@home.example") if "decision" in m["Subject"]]
    assert len(decision) == 1
    assert not [m for m in smtp_sink.to("noor@uni.example") if "decision" in m["Subject"]]


# --- R21: pending, rejected and revoked links give nothing ----------------------------------------


@time_machine.travel(NOW, tick=True)
def test_an_unverified_guardian_sees_nothing_and_is_told_what_happens_next(app, world, smtp_sink):
    verified_parent = guardian("marieke@home.example")
    verified = guardian_link(verified_parent, world["child"], verifier=world["handler"])
    pending_parent = guardian("stranger@home.example", "Someone Else")
    pending = guardian_link(pending_parent, world["child"], status=LinkStatus.PENDING)
    case = cases.file_case(
        case_type=CaseType.ACCESS,
        subject=world["child"],
        filed_by=verified_parent,
        description="Everything",
    )
    db.session.commit()

    stranger = logged_in(app, "stranger@home.example")
    page = stranger.get("/my/children").get_data(as_text=True)
    assert "Waiting for a check" in page and "What happens next" in page
    assert "Noor Jansen" not in page
    assert stranger.get(f"/my/children/{pending.id}/cases/new/access").status_code == 404
    assert stranger.get(f"/my/children/{verified.id}/cases/new/access").status_code == 404
    assert stranger.get(f"/my/cases/{case.reference}").status_code == 404
    assert case.reference not in stranger.get("/my/cases").get_data(as_text=True)

    # Rejected: the reason is shown, access stays nothing.
    handler = logged_in(app, "handler@uni.example")
    page_url = f"/staff/guardians/{pending.id}"
    response = staff_post(handler, f"{page_url}/reject", {"rejection_reason": ""}, page_url)
    assert response.status_code == 400
    response = staff_post(
        handler,
        f"{page_url}/reject",
        {"rejection_reason": "The custody register names two other people."},
        page_url,
    )
    assert response.status_code == 302
    page = stranger.get("/my/children").get_data(as_text=True)
    assert "Rejected" in page and "The custody register names two other people." in page
    assert smtp_sink.to("stranger@home.example")

    # Revoked: the guardian who filed loses access to the case they filed too.
    parent = logged_in(app, "marieke@home.example")
    assert parent.get(f"/my/cases/{case.reference}").status_code == 200
    page_url = f"/staff/guardians/{verified.id}"
    response = staff_post(
        handler,
        f"{page_url}/revoke",
        {"revocation_reason": "A court decision of 20 November gave custody to the father."},
        page_url,
    )
    assert response.status_code == 302
    assert parent.get(f"/my/cases/{case.reference}").status_code == 404
    assert case.reference not in parent.get("/my/cases").get_data(as_text=True)
    assert parent.get(f"/my/children/{verified.id}/cases/new/access").status_code == 404
    assert "gave custody to the father" in parent.get("/my/children").get_data(as_text=True)
    ended = [m for m in smtp_sink.to("marieke@home.example") if "has ended" in m["Subject"]]
    assert len(ended) == 1

    link_events = [
        a for a in actions() if a.startswith("guardian_link.") and a != "guardian_link.viewed"
    ]
    assert link_events[-2:] == ["guardian_link.rejected", "guardian_link.revoked"]


@time_machine.travel(NOW, tick=True)
def test_a_wrong_student_number_gets_the_same_answer_as_a_right_one(app, world):
    right = app.test_client()
    register(right, "right@home.example", "Right Parent")
    wrong = app.test_client()
    register(wrong, "wrong@home.example", "Wrong Parent")
    answers = [
        ask_link(right, "s2011001", "2011-01-10"),
        ask_link(wrong, "s2011001", "2011-01-11"),  # right number, wrong date of birth
    ]
    assert [a.status_code for a in answers] == [302, 302]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    pages = [client.get("/my/children").get_data(as_text=True) for client in (right, wrong)]
    for page in pages:
        assert "Your request will be checked" in page
        assert "Student number s2011001" in page and "Waiting for a check" in page
        assert "Noor Jansen" not in page
    # Apart from the name of the logged-in parent and the date they typed, the pages are equal.
    strip = [
        p.replace("Right Parent", "X").replace("Wrong Parent", "X").split('id="main"')[1]
        for p in pages
    ]
    assert strip[0] == strip[1]

    links = db.session.scalars(select(GuardianLink).order_by(GuardianLink.id)).all()
    assert [link.student_id for link in links] == [world["child"].id, None]
    handler = logged_in(app, "handler@uni.example")
    assert "No match" in handler.get("/staff/guardians").get_data(as_text=True)
    response = verify(handler, links[1].id)
    assert response.status_code == 409
    assert "No student has this student number and date of birth" in response.get_data(as_text=True)


@time_machine.travel(NOW, tick=True)
def test_asking_twice_for_the_same_child_keeps_one_request(app, world):
    parent = app.test_client()
    register(parent, "marieke@home.example")
    ask_link(parent, "s2011001", "2011-01-10")
    ask_link(parent, "S2011001", "2011-01-10")
    assert db.session.scalar(select(func.count(GuardianLink.id))) == 1
    response = ask_link(parent, "", "2011-13-40", basis="")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Enter the student number." in text and "Choose the basis of your authority." in text


# --- Two guardians, siblings ----------------------------------------------------------------------


@time_machine.travel(NOW, tick=True)
def test_two_guardians_each_see_only_their_own_cases_and_never_an_unlinked_siblings(app, world):
    sister = world["child"]
    brother = UserFactory(
        email="sem@uni.example",
        full_name="Sem Jansen",
        date_of_birth=date(2012, 6, 1),
        programme_id=world["programme"].id,
    )
    mother_user = guardian("mother@home.example", "Mother")
    father_user = guardian("father@home.example", "Father")
    mother_sister = guardian_link(mother_user, sister, verifier=world["handler"])
    mother_brother = guardian_link(mother_user, brother, verifier=world["handler"])
    father_sister = guardian_link(father_user, sister, verifier=world["handler"])
    db.session.commit()

    mother = logged_in(app, "mother@home.example")
    father = logged_in(app, "father@home.example")
    assert file_for(mother, mother_sister.id).status_code == 302
    assert file_for(mother, mother_brother.id).status_code == 302
    assert file_for(father, father_sister.id).status_code == 302
    m_sister, m_brother, f_sister = db.session.scalars(select(Case).order_by(Case.id)).all()

    def sees(client, case):
        return client.get(f"/my/cases/{case.reference}").status_code == 200

    assert sees(mother, m_sister) and sees(mother, m_brother) and not sees(mother, f_sister)
    assert sees(father, f_sister) and not sees(father, m_sister)
    assert not sees(father, m_brother)  # the brother he is not linked to
    assert father.get(f"/my/children/{mother_brother.id}/cases/new/access").status_code == 404
    listing = father.get("/my/cases").get_data(as_text=True)
    assert f_sister.reference in listing
    assert m_sister.reference not in listing and m_brother.reference not in listing

    # Linked to the brother too, the father files for him and sees that, still not the mother's.
    father_brother = guardian_link(father_user, brother, verifier=world["handler"])
    db.session.commit()
    assert file_for(father, father_brother.id).status_code == 302
    f_brother = db.session.scalars(select(Case).order_by(Case.id.desc()).limit(1)).one()
    assert sees(father, f_brother) and not sees(father, m_brother)


# --- Accounts: registration and invitations -------------------------------------------------------


@time_machine.travel(NOW, tick=True)
def test_registration_creates_a_guardian_account_with_an_argon2_password(app, world):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # a visitor whose browser asks English
    response = register(client, "marieke@home.example", password="short")
    assert response.status_code == 400
    assert "at least 10 characters" in response.get_data(as_text=True)
    response = post_form(
        client,
        "/register",
        {
            "full_name": "M",
            "email": "marieke@home.example",
            "password": PASSWORD,
            "confirm": "something-else",
        },
    )
    assert response.status_code == 400
    assert "The two passwords are not the same." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id)).where(User.role == Role.GUARDIAN)) == 0

    assert register(client, "Marieke@Home.example").status_code == 302
    user = db.session.scalars(select(User).where(User.role == Role.GUARDIAN)).one()
    assert user.email == "marieke@home.example"
    assert user.password_hash.startswith("$argon2id$")
    assert user.email_verified
    assert client.get("/my/children").status_code == 200


# --- Registration tells nobody whether an address has an account (issue 20, finding 3) ----------


def registration_answer(app, email):
    client = app.test_client()
    response = submit_registration(client, email, "Someone", "another long sentence")
    page = client.get(response.headers.get("Location", "/login")).get_data(as_text=True)
    marker = 'class="flash flash-'
    message = page.split(marker)[1].split("</")[0] if marker in page else page
    return response.status_code, response.headers.get("Location"), message.replace(email, "@")


@time_machine.travel(NOW, tick=True)
def test_registration_answers_the_same_for_new_existing_and_staff_addresses(app, world, smtp_sink):
    UserFactory(email="parent@home.example", role=Role.GUARDIAN, full_name="Existing Parent")
    db.session.commit()
    answers = [
        registration_answer(app, email)
        for email in ("newcomer@home.example", "parent@home.example", "handler@uni.example")
    ]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][:2] == (302, "/login")
    assert "Check your e-mail" in answers[0][2]
    # The difference goes to the address only.
    [new] = smtp_sink.to("newcomer@home.example")
    assert "Confirm your e-mail address" in new["Subject"]
    assert "/register/verify/" in new.get_payload(decode=True).decode()
    for address in ("parent@home.example", "handler@uni.example"):
        [notice] = smtp_sink.to(address)
        assert "You already have an account" in notice["Subject"]
        assert "/register/verify/" not in notice.get_payload(decode=True).decode()
    # Nothing changed on the existing accounts: their passwords still work.
    login(app.test_client(), "parent@home.example")
    login(app.test_client(), "handler@uni.example")


@time_machine.travel(NOW, tick=True)
def test_a_registered_account_is_usable_only_after_its_address_is_verified(app, world):
    client = app.test_client()
    assert submit_registration(client, "unverified@home.example").status_code == 302
    user = db.session.scalars(select(User).where(User.email == "unverified@home.example")).one()
    assert user.email_verified is False
    assert client.get("/my/children").status_code == 302  # not logged in by registering
    refused = post_form(
        client,
        "/login",
        {"email": "unverified@home.example", "password": PASSWORD},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 401
    assert "Confirm your e-mail address first" in refused.get_data(as_text=True)

    path = verification_path("unverified@home.example")
    assert client.get(path).headers["Location"] == "/login"
    db.session.expire_all()
    assert db.session.get(User, user.id).email_verified is True
    assert "user.email_verified" in actions()
    login(client, "unverified@home.example")
    assert client.get("/my/children").status_code == 200
    assert client.get(path).status_code == 302  # used again: "confirmed already"


@time_machine.travel(NOW, tick=True)
def test_registering_an_unverified_address_again_makes_the_older_link_useless(app, world):
    submit_registration(app.test_client(), "squat@home.example", "Squatter", "squatters password")
    squatter_link = verification_path("squat@home.example")
    submit_registration(app.test_client(), "squat@home.example", "Owner", "the owners password")
    owner_link = verification_path("squat@home.example")
    assert owner_link != squatter_link
    client = app.test_client()
    assert client.get(squatter_link).status_code == 404
    assert client.get(owner_link).status_code == 302
    login(client, "squat@home.example", "the owners password")
    user = db.session.scalars(select(User).where(User.email == "squat@home.example")).one()
    assert user.full_name == "Owner"


def test_existing_and_staff_made_accounts_count_as_verified(app, app_ctx):
    from rights_portal.accounts.services import create_user

    made = create_user(
        email="made-by-admin@uni.example",
        password="a long enough password",
        full_name="Admin Made",
        role=Role.CASE_HANDLER,
    )
    db.session.commit()
    assert made.email_verified is True
    assert UserFactory(email="factory@uni.example").email_verified is True


def test_a_handler_invites_a_parent_who_sets_a_password_once(app, world, smtp_sink):
    with time_machine.travel(NOW, tick=True):
        handler = logged_in(app, "handler@uni.example")
        response = post_form(
            handler,
            "/staff/guardians/invite",
            {"full_name": "Peter Jansen", "email": "peter@home.example", "locale": "en"},
        )
        assert response.status_code == 302
        [mail] = smtp_sink.to("peter@home.example")
        link = next(
            line for line in body(mail).splitlines() if "http://portal.test/invitation/" in line
        )
        path = link.strip().removeprefix("http://portal.test")

        parent = app.test_client()
        page = parent.get(path)
        assert page.status_code == 200 and "peter@home.example" in page.get_data(as_text=True)
        data = {"full_name": "Peter Jansen", "password": PASSWORD, "confirm": PASSWORD}
        response = post_form(parent, path, data)
        assert response.status_code == 302
        assert response.headers["Location"] == "/my/children/new"
        user = db.session.scalars(select(User).where(User.email == "peter@home.example")).one()
        assert user.role is Role.GUARDIAN
        assert db.session.scalars(select(GuardianInvitation)).one().user_id == user.id

        again = app.test_client()
        again.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        used = again.get(path)
        assert used.status_code == 410 and "used already" in used.get_data(as_text=True)
        assert again.get(path[:-3] + "xyz").status_code == 404  # tampered signature
        assert {"guardian.invited", "guardian.invitation_accepted"} <= set(actions())

        response = post_form(
            handler,
            "/staff/guardians/invite",
            {"full_name": "Anna", "email": "anna@home.example", "locale": "nl"},
        )
        [mail] = smtp_sink.to("anna@home.example")
        path = next(
            line.strip().removeprefix("http://portal.test")
            for line in body(mail).splitlines()
            if "/invitation/" in line
        )
    with time_machine.travel(NOW + timedelta(days=8), tick=True):
        expired = app.test_client().get(path, headers={"Accept-Language": "en"})
        assert expired.status_code == 410
        assert "has expired" in expired.get_data(as_text=True)


@time_machine.travel(NOW, tick=True)
def test_inviting_an_existing_account_is_refused(app, world):
    handler = logged_in(app, "handler@uni.example")
    response = post_form(
        handler,
        "/staff/guardians/invite",
        {"full_name": "Noor", "email": "noor@uni.example", "locale": "nl"},
    )
    assert response.status_code == 400
    assert "exists already" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(GuardianInvitation.id))) == 0


# --- Verification rules ---------------------------------------------------------------------------


@time_machine.travel(NOW, tick=True)
def test_verifying_needs_method_document_and_day_and_never_a_future_day(app, world):
    parent_user = guardian("marieke@home.example")
    link = guardian_link(parent_user, world["child"], status=LinkStatus.PENDING)
    db.session.commit()
    handler = logged_in(app, "handler@uni.example")
    page = f"/staff/guardians/{link.id}"
    response = staff_post(handler, f"{page}/verify", {}, page)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Choose how the authority was checked." in text
    assert "Choose the document that was seen." in text
    assert verify(handler, link.id, seen_on="2026-11-24").status_code == 400
    db.session.expire_all()
    assert db.session.get(GuardianLink, link.id).status is LinkStatus.PENDING
    assert verify(handler, link.id).status_code == 302

    # The DPO reads along but cannot change links.
    dpo_user = UserFactory(email="dpo@uni.example", role=Role.DPO)
    db.session.commit()
    dpo = logged_in(app, dpo_user.email)
    assert dpo.get(page).status_code == 200
    response = staff_post(dpo, f"{page}/revoke", {"revocation_reason": "x"}, page)
    assert response.status_code == 403


@time_machine.travel(NOW, tick=True)
def test_a_link_to_a_student_of_16_or_older_cannot_be_verified(app, world):
    adult = UserFactory(email="adult@uni.example", date_of_birth=date(2008, 1, 1))
    link = guardian_link(guardian("marieke@home.example"), adult, status=LinkStatus.PENDING)
    db.session.commit()
    handler = logged_in(app, "handler@uni.example")
    response = verify(handler, link.id)
    assert response.status_code == 409
    assert "16 or older" in response.get_data(as_text=True)


def test_the_database_refuses_a_verified_link_without_the_check_recorded(app, world):
    link = guardian_link(
        guardian("marieke@home.example"), world["child"], status=LinkStatus.PENDING
    )
    db.session.commit()
    link.status = LinkStatus.VERIFIED
    with pytest.raises(sa.exc.IntegrityError, match="verification_complete"):
        db.session.commit()
    db.session.rollback()


def test_the_migration_counts_every_existing_account_as_verified(sqlite_app):
    from flask_migrate import upgrade

    with sqlite_app.app_context():
        upgrade(revision="5e3c1a9d7b20")  # the schema before the column
        db.session.execute(
            sa.text(
                "INSERT INTO users (email, password_hash, full_name, role, locale,"
                " is_active_account, created_at, session_generation)"
                " VALUES ('old@uni.example', 'x', 'Old', 'guardian', 'nl', 1,"
                " '2026-01-01 00:00:00.000000', 0)"
            )
        )
        db.session.commit()
        upgrade()
        verified = db.session.execute(
            sa.text("SELECT email_verified FROM users WHERE email = 'old@uni.example'")
        ).scalar_one()
        assert verified in (1, True)
        db.session.remove()

"""The demo's people: two programmes with their exam boards, an account per role, guardian links.

Besides one account per staff role there are two adult students and Noor, a student under 16
whose date of birth is computed from today, so she is under 16 whenever the demo is seeded. Her
mother's link is verified by the demo case handler as staff verify links (R21); her father's
request is left pending, for the handler to check in the demo.

Accounts and links are made through the accounts services, so the audit trail tells the same
story as the pages. Everything is looked up by its natural key first (e-mail address, the
guardian and child of a link), so seeding twice adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from ..accounts import services as accounts
from ..accounts.guardianship import is_minor_on
from ..accounts.models import (
    AuthorityDocument,
    GuardianBasis,
    GuardianLink,
    LinkStatus,
    Role,
    User,
    VerificationMethod,
)
from ..examboard.models import ExamBoard
from ..exams.models import ExamBoardMember, Programme
from ..extensions import db
from .lookup import get_or_create

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  (printed on purpose: demo accounts only)
STUDENT = "student@demo.example"
STUDENT2 = "student2@demo.example"
CHILD = "child@demo.example"
GUARDIAN = "guardian@demo.example"
SECOND_GUARDIAN = "guardian2@demo.example"
HANDLER = "handler@demo.example"
BOARD = "board@demo.example"


@dataclass(frozen=True)
class DemoUser:
    """One demo account; students carry a number, a date of birth and a programme."""

    email: str
    name: str
    role: Role
    student_number: str | None = None
    date_of_birth: date | None = None
    programme: str | None = None
    board_of: str | None = None  # the programme whose exam board an exam-board member sits on
    note: str = ""  # printed after the name by the seed command


def under_16_date_of_birth(today: date) -> date:
    """A date of birth that makes a child 14 today and 16 only in more than a year.

    The 15th birthday is 120 days from today; never on 29 February, so the birthday rule for
    leap days (``guardianship.birthday_in``) never comes into play in the demo.
    """
    birthday = today + timedelta(days=120)
    if (birthday.month, birthday.day) == (2, 29):
        birthday -= timedelta(days=1)
    return birthday.replace(year=birthday.year - 15)


def demo_users(today: date) -> list[DemoUser]:
    """Every demo account, in the order the seed command prints them."""
    return [
        DemoUser(STUDENT, "Sanne de Vries", Role.STUDENT, "s1234567", date(2004, 5, 17), "PSY"),
        DemoUser(STUDENT2, "Daan Bakker", Role.STUDENT, "s7654321", date(2003, 11, 2), "CS"),
        DemoUser(
            CHILD,
            "Noor Jansen",
            Role.STUDENT,
            "s2460135",
            under_16_date_of_birth(today),
            "CS",
            note="under 16: her mother files for her",
        ),
        DemoUser(GUARDIAN, "Marieke Jansen", Role.GUARDIAN, note="Noor's mother, link verified"),
        DemoUser(
            SECOND_GUARDIAN, "Bram Jansen", Role.GUARDIAN, note="Noor's father, link unchecked"
        ),
        DemoUser(HANDLER, "Pieter van Dijk", Role.CASE_HANDLER),
        DemoUser(BOARD, "Dr. Fatima El Amrani", Role.EXAM_BOARD, board_of="PSY"),
        DemoUser("board-cs@demo.example", "Dr. Joost Visser", Role.EXAM_BOARD, board_of="CS"),
        DemoUser("dpo@demo.example", "Mr. Anouk Smit", Role.DPO),
        DemoUser("admin@demo.example", "Admin Beheer", Role.ADMIN),
    ]


def seed_programmes() -> dict[str, Programme]:
    """Psychology and Computer Science, each with its exam board."""
    programmes = {}
    for code, name, board_name in (
        ("PSY", "BSc Psychologie", "Examencommissie Psychologie"),
        ("CS", "BSc Informatica", "Examencommissie Informatica"),
    ):
        board = get_or_create(ExamBoard, {"name": board_name})
        programmes[code] = get_or_create(
            Programme, {"code": code}, name=name, exam_board_id=board.id
        )
    return programmes


def seed_users(programmes: dict[str, Programme], today: date) -> dict[str, User]:
    """Every demo account by e-mail address, created if missing; board members on their board."""
    users: dict[str, User] = {}
    for demo in demo_users(today):
        user = accounts.find_by_email(demo.email)
        if user is None:
            user = accounts.create_user(
                email=demo.email,
                password=DEMO_PASSWORD,
                full_name=demo.name,
                role=demo.role,
                student_number=demo.student_number,
                date_of_birth=demo.date_of_birth,
                programme_id=programmes[demo.programme].id if demo.programme else None,
            )
        if demo.board_of is not None:
            board_id = programmes[demo.board_of].exam_board_id
            get_or_create(ExamBoardMember, {"board_id": board_id, "user_id": user.id})
        users[demo.email] = user
    return users


def seed_guardian_links(users: dict[str, User], today: date) -> None:
    """Noor's mother: verified by the handler (R21). Her father: asked, waiting for the check."""
    child, handler = users[CHILD], users[HANDLER]
    mother = _link(users[GUARDIAN], child)
    if mother.status is LinkStatus.PENDING and is_minor_on(child.date_of_birth, today):
        accounts.verify_link(
            mother,
            actor=handler,
            method=VerificationMethod.IN_PERSON,
            document_type=AuthorityDocument.CUSTODY_REGISTER_EXTRACT,
            document_seen_on=today,
        )
    _link(users[SECOND_GUARDIAN], child)


def _link(guardian: User, child: User) -> GuardianLink:
    """The guardian's link to the child in whatever state the demo left it, or a new request.

    A new request is made as the parent makes it on *My children*: with the child's student number
    and date of birth.
    """
    existing = db.session.scalars(
        select(GuardianLink)
        .where(GuardianLink.guardian_id == guardian.id, GuardianLink.student_id == child.id)
        .order_by(GuardianLink.id)
    ).first()
    if existing is not None:
        return existing
    if child.student_number is None or child.date_of_birth is None:
        raise LookupError(f"{child.email} has no student number or date of birth")
    return accounts.request_link(
        guardian,
        student_number=child.student_number,
        date_of_birth=child.date_of_birth,
        basis=GuardianBasis.PARENTAL_AUTHORITY,
    )

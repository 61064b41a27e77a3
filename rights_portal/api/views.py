"""The REST API under ``/api/v1``: file and follow cases, events for staff tools, DPO figures.

Thin, as the pages are: a client authenticates with its bearer token (``clients``), each
operation names the scope it needs (decided in ``rights_portal.permissions``), the case
services do the work, and every call that reads personal data is on the audit trail (R24).
POSTs with an ``Idempotency-Key`` are answered once and replayed to a retry (``idempotency``).
The OpenAPI 3.1 document is generated from these operations and their schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import abort, g, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from ..accounts.models import Role, User
from ..audit.models import AuditEvent
from ..audit.services import record
from ..cases.models import Case
from ..clock import today_local
from ..dpo import figures as dpo_figures
from ..dpo.queries import Filters
from ..errors import RuleViolation
from ..exams.models import Exam
from ..extensions import db, limiter
from ..permissions import Filing, api_case_clause, api_client_may, filing_decision
from ..transactions import discard
from . import filing_views as filing
from . import idempotency, problems
from .clients import authenticate, current_client
from .models import ApiCaseOrigin, Scope
from .problems import problem
from .schemas import (
    CaseListQuerySchema,
    CasePageSchema,
    CaseSchema,
    EventPageQuerySchema,
    EventPageSchema,
    FiguresQuerySchema,
    FiguresSchema,
    MessageCreatedSchema,
    MessageSchema,
    NewCaseSchema,
    ProblemSchema,
)

bp = Blueprint(
    "api_v1",
    __name__,
    url_prefix="/api/v1",
    description="File and follow privacy requests from the institution's own systems.",
)
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
#: Figures that name cases or handlers: personal data, not figures, so not in the API.
NAMES_PEOPLE = frozenset({"overdue", "overdue-cases"})


@bp.errorhandler(HTTPException)
def _http_problem(error: HTTPException) -> Any:
    discard()  # an aborted call keeps nothing it wrote
    return problems.from_http_exception(error)


@bp.errorhandler(RuleViolation)
def _rule_problem(error: RuleViolation) -> Any:
    discard()
    return problem(409, str(error.message), kind="refused")


def _client_limit_key() -> str:
    client = g.get("api_client")
    return f"api-client:{client.id}" if client is not None else request.remote_addr or "?"


@bp.before_request
def _authenticate() -> Any:
    client = authenticate(request.headers.get("Authorization"))
    if client is None:
        return problem(
            401,
            _("Send the client's token as 'Authorization: Bearer <token>'."),
            headers={"WWW-Authenticate": 'Bearer realm="rights-portal"'},
        )
    g.api_client = client
    return None


def needs(scope: Scope) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse the operation (403) to a client without ``scope``."""

    def decorator(operation: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(operation)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not api_client_may(current_client(), scope):
                return problem(403, _("This client lacks the scope %(scope)s.", scope=scope.value))
            return operation(*args, **kwargs)

        return wrapped

    return decorator


def _case_or_404(reference: str) -> Case:
    case = db.session.scalars(
        select(Case).where(Case.reference == reference, api_case_clause(current_client()))
    ).one_or_none()
    if case is None:
        abort(404)
    return case


def _read(case: Case, what: str) -> None:
    # R24: a client reading personal data is on the trail like a person doing so.
    record(
        "api.case_read",
        actor=None,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        after={"client": current_client().name, "what": what},
    )


def _keyset_page(
    statement: Any, id_column: Any, after: int | None, limit: int
) -> tuple[list[Any], int | None]:
    """One page of ``statement`` in id order after ``after``, and the cursor of the next page."""
    if after is not None:
        statement = statement.where(id_column > after)
    rows = list(db.session.scalars(statement.order_by(id_column).limit(limit + 1)))
    page = rows[:limit]
    return page, (page[-1].id if len(rows) > limit else None)


def case_json(case: Case) -> dict[str, Any]:
    """A case as :class:`CaseSchema` shows it."""
    decision = None
    if case.decided_at is not None:
        decision = {
            "outcome": case.outcome,
            "reasons": case.decision_reasons or "",
            "legal_basis": case.legal_basis,
            "decided_at": case.decided_at,
        }
    return {
        "reference": case.reference,
        "case_type": case.case_type,
        "status": case.status,
        "channel": case.channel.value,
        "received_on": case.received_on,
        "statutory_due": case.statutory_due,
        "effective_due": case.effective_due,
        "urgent": case.urgent,
        "exam_id": case.exam_id,
        "decision": decision,
    }


@bp.route("/cases")
class Cases(MethodView):
    """The cases this client may see; filing a new one."""

    decorators = [limiter.limit(lambda: _rate(), key_func=_client_limit_key)]

    @bp.doc(security=SECURITY, summary="List cases (staff tools)")
    @bp.arguments(CaseListQuerySchema, location="query")
    @bp.response(200, CasePageSchema)
    @bp.alt_response(403, schema=ProblemSchema)
    @needs(Scope.STAFF_READ)
    def get(self, query: dict[str, Any]) -> Any:
        """Cases in id order, filtered, a page at a time (keyset: pass ``next`` as ``after``)."""
        statement = select(Case).where(api_case_clause(current_client()))
        if query["status"] is not None:
            statement = statement.where(Case.status == query["status"])
        if query["case_type"] is not None:
            statement = statement.where(Case.case_type == query["case_type"])
        if query["due_before"] is not None:
            statement = statement.where(Case.effective_due < query["due_before"])
        page, cursor = _keyset_page(statement, Case.id, query["after"], query["limit"])
        for case in page:
            _read(case, "list")
        return {"items": [case_json(c) for c in page], "next": cursor}

    @idempotency.once
    @bp.doc(
        security=SECURITY,
        summary="File a request for a student",
        parameters=[idempotency.HEADER_PARAMETER],
    )
    @bp.arguments(NewCaseSchema)
    @bp.response(201, CaseSchema)
    @bp.alt_response(403, schema=ProblemSchema)
    @bp.alt_response(404, schema=ProblemSchema)
    @bp.alt_response(409, schema=ProblemSchema)
    @bp.alt_response(422, schema=ProblemSchema)
    @needs(Scope.FILE)
    def post(self, data: dict[str, Any]) -> Any:
        """The calling system vouches for the student; the case records the channel and client."""
        student = db.session.scalars(
            select(User).where(
                User.role == Role.STUDENT, User.student_number == data["student_number"]
            )
        ).one_or_none()
        if student is None:
            return problem(404, _("No student with this student number."), kind="unknown-student")
        exam = db.session.get(Exam, data["exam_id"]) if data["exam_id"] else None
        if data["exam_id"] and exam is None:
            return problem(422, _("No exam with this id."), errors={"exam_id": ["unknown"]})
        if filing_decision(student, student, today_local()) is not Filing.ALLOWED:
            return problem(
                409,
                _("This student cannot file alone: under 16, or the age is not confirmed yet."),
                kind="refused",
            )
        try:
            case = filing.file(
                data["case_type"], student=student, description=data["description"], exam=exam
            )
        except RuleViolation as refused:
            return problem(409, str(refused.message), kind="refused")
        db.session.add(ApiCaseOrigin(case_id=case.id, client_id=current_client().id))
        return (
            case_json(case),
            201,
            {"Location": url_for("api_v1.OneCase", reference=case.reference)},
        )


def _rate() -> str:
    from flask import current_app

    return str(current_app.config["API_RATE_LIMIT"])


@bp.route("/cases/<reference>")
class OneCase(MethodView):
    """One case: its status, due date and decision."""

    decorators = [limiter.limit(lambda: _rate(), key_func=_client_limit_key)]

    @bp.doc(security=SECURITY, summary="Read a case")
    @bp.response(200, CaseSchema)
    @bp.alt_response(404, schema=ProblemSchema)
    def get(self, reference: str) -> Any:
        """A case this client filed (read-own) or any case (staff-read)."""
        if not (
            api_client_may(current_client(), Scope.READ_OWN)
            or api_client_may(current_client(), Scope.STAFF_READ)
        ):
            return problem(403, _("This client lacks the scope %(scope)s.", scope="read-own"))
        case = _case_or_404(reference)
        _read(case, "case")
        return case_json(case)


@bp.route("/cases/<reference>/messages")
class CaseMessages(MethodView):
    """Messages from the requester, passed on by the calling system."""

    decorators = [limiter.limit(lambda: _rate(), key_func=_client_limit_key)]

    @idempotency.once
    @bp.doc(
        security=SECURITY,
        summary="Post the requester's message on a case",
        parameters=[idempotency.HEADER_PARAMETER],
    )
    @bp.arguments(MessageSchema)
    @bp.response(201, MessageCreatedSchema)
    @bp.alt_response(404, schema=ProblemSchema)
    @bp.alt_response(409, schema=ProblemSchema)
    @needs(Scope.FILE)
    def post(self, data: dict[str, Any], reference: str) -> Any:
        """Only on a case this client filed; the message is the requester's."""
        case = _case_or_404(reference)
        origin = db.session.get(ApiCaseOrigin, case.id)
        if origin is None or origin.client_id != current_client().id:
            return problem(404)
        try:
            message = filing.post_message(case, body=data["body"])
        except RuleViolation as refused:
            return problem(409, str(refused.message), kind="refused")
        return {"id": message.id, "created_at": message.created_at}, 201


@bp.route("/cases/<reference>/events")
class CaseEvents(MethodView):
    """The steps on a case's audit trail, for staff tools."""

    decorators = [limiter.limit(lambda: _rate(), key_func=_client_limit_key)]

    @bp.doc(security=SECURITY, summary="List a case's events")
    @bp.arguments(EventPageQuerySchema, location="query")
    @bp.response(200, EventPageSchema)
    @bp.alt_response(403, schema=ProblemSchema)
    @bp.alt_response(404, schema=ProblemSchema)
    @needs(Scope.STAFF_READ)
    def get(self, query: dict[str, Any], reference: str) -> Any:
        """Events in order, a page at a time (keyset)."""
        case = _case_or_404(reference)
        statement = select(AuditEvent).where(AuditEvent.case_id == case.id)
        page, cursor = _keyset_page(statement, AuditEvent.id, query["after"], query["limit"])
        _read(case, "events")
        return {
            "items": [{"id": e.id, "action": e.action, "occurred_at": e.occurred_at} for e in page],
            "next": cursor,
        }


@bp.route("/dpo/figures")
class DpoFigures(MethodView):
    """The DPO dashboard's figures (counts, no personal data)."""

    decorators = [limiter.limit(lambda: _rate(), key_func=_client_limit_key)]

    @bp.doc(security=SECURITY, summary="The DPO's figures for a period")
    @bp.arguments(FiguresQuerySchema, location="query")
    @bp.response(200, FiguresSchema)
    @bp.alt_response(403, schema=ProblemSchema)
    @bp.alt_response(422, schema=ProblemSchema)
    @needs(Scope.DPO_READ)
    def get(self, query: dict[str, Any]) -> Any:
        """The period defaults to the last 365 days."""
        today = today_local()
        end = query["end"] or today
        start = query["start"] or end - timedelta(days=364)
        if start > end:
            return problem(422, _("The start lies after the end."), errors={"start": ["after end"]})
        built = dpo_figures.build(Filters(start=start, end=end, programme_id=None, today=today))
        # Only the tables: the overdue-cases list names cases, which is not a figure.
        return {
            "start": start,
            "end": end,
            "figures": [
                {
                    "key": f.key,
                    "title": str(f.title),
                    "columns": [str(c) for c in f.columns],
                    "rows": f.rows,
                }
                for f in built
                if f.key not in NAMES_PEOPLE
            ],
        }

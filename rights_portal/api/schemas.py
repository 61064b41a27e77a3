"""The API's request and response shapes (marshmallow); the OpenAPI document is made from them."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from ..cases.models import CaseStatus, CaseType, Outcome

#: The request types a client can file; erasure and human review need the student's own choice
#: of recordings or flag, made in the portal.
API_FILING_TYPES = (CaseType.ACCESS, CaseType.OBJECTION, CaseType.ALTERNATIVE_EXAM)
MAX_PAGE = 100
#: Dates a query may name: wide enough for any case, narrow enough for time-zone arithmetic.
EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)


class NewCaseSchema(Schema):
    """File a request for a student whose identity the calling system vouches for."""

    student_number = fields.String(
        required=True, validate=validate.Length(min=1, max=32), metadata={"example": "s1234567"}
    )
    case_type = fields.Enum(
        CaseType,
        by_value=True,
        required=True,
        metadata={"description": "access, objection or alternative_exam"},
    )
    description = fields.String(
        load_default="", validate=validate.Length(max=10_000), metadata={"example": "…"}
    )
    exam_id = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "The exam (objection, alternative exam): one not yet taken"},
    )


class DecisionSchema(Schema):
    """The decision on a case, once it is decided (R23)."""

    outcome = fields.Enum(Outcome, by_value=True)
    reasons = fields.String()
    legal_basis = fields.String(allow_none=True)
    decided_at = fields.DateTime()


class CaseSchema(Schema):
    """A case as the API shows it: ids and states, dates, and the decision."""

    reference = fields.String(metadata={"example": "RP-2026-00042"})
    case_type = fields.Enum(CaseType, by_value=True)
    status = fields.Enum(CaseStatus, by_value=True)
    channel = fields.String()
    received_on = fields.Date()
    statutory_due = fields.Date()
    effective_due = fields.Date()
    urgent = fields.Boolean()
    exam_id = fields.Integer(allow_none=True)
    decision = fields.Nested(DecisionSchema, allow_none=True)


class CaseListQuerySchema(Schema):
    """Filters and the keyset cursor of the case list."""

    status = fields.Enum(CaseStatus, by_value=True, load_default=None)
    case_type = fields.Enum(CaseType, by_value=True, load_default=None)
    due_before = fields.Date(
        load_default=None,
        validate=validate.Range(min=EARLIEST, max=LATEST),
        metadata={"description": "effective due < this"},
    )
    after = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, max=2**62),
        metadata={"description": "the `next` of the previous page"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


class CasePageSchema(Schema):
    """One page of cases; ``next`` is the cursor of the following page, or null at the end."""

    items = fields.List(fields.Nested(CaseSchema))
    next = fields.Integer(allow_none=True)


class MessageSchema(Schema):
    """A message on a case, from the requester, through the calling system."""

    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class MessageCreatedSchema(Schema):
    """The message as stored."""

    id = fields.Integer()
    created_at = fields.DateTime()


class EventSchema(Schema):
    """A step on the case's audit trail (R24): what happened when, without its contents."""

    id = fields.Integer()
    action = fields.String(metadata={"example": "case.decided"})
    occurred_at = fields.DateTime()


class EventPageQuerySchema(Schema):
    """The keyset cursor of the events list."""

    after = fields.Integer(load_default=None, validate=validate.Range(min=0, max=2**62))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


class EventPageSchema(Schema):
    """One page of a case's events."""

    items = fields.List(fields.Nested(EventSchema))
    next = fields.Integer(allow_none=True)


class FigureSchema(Schema):
    """One of the DPO's figures: a table with its columns and rows."""

    key = fields.String()
    title = fields.String()
    columns = fields.List(fields.String())
    rows = fields.List(fields.List(fields.Raw()))


class FiguresQuerySchema(Schema):
    """The period of the DPO's figures (Amsterdam dates, inclusive)."""

    start = fields.Date(load_default=None, validate=validate.Range(min=EARLIEST, max=LATEST))
    end = fields.Date(load_default=None, validate=validate.Range(min=EARLIEST, max=LATEST))


class FiguresSchema(Schema):
    """The DPO's figures for a period."""

    start = fields.Date()
    end = fields.Date()
    figures = fields.List(fields.Nested(FigureSchema))


class ProblemSchema(Schema):
    """An error (RFC 9457 problem details), in the client's language."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict()

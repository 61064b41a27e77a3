"""The one place that decides who may see and do what (docs/rules.md#roles).

Views and tasks ask these functions; none does its own check, compares a role or keeps a role
tuple. A case (or guardian link, or breach) the user may not see is answered with 404, so its
existence is not revealed; an area the user's role may not enter at all (the staff queue for a
student) is a 403. Lists are restricted with clauses (``*_clause``), one object with predicates
(``can*``, ``*_or_404``).

The decisions live by domain; every name is imported from here
(``from rights_portal.permissions import can``):

- :mod:`.gates`: the role groups of each area and the ``roles_required`` view gate;
- :mod:`.cases`: who sees a case and what they may do with it, flags and recordings;
- :mod:`.guardians`: who files for whom (R20, R21), guardian links, exam privacy notices;
- :mod:`.staff_tools`: the register, exams, retention, intake, sessions, the delivery banner;
- :mod:`.dpo`: the dashboard, the report and the data-breach register (R26).
"""

from __future__ import annotations

from .cases import (
    DECIDER_ACTIONS,
    FILING_TYPES,
    Action,
    access_case_or_404,
    board_cases_clause,
    board_programme_ids,
    can,
    can_open_recording,
    can_review_flag,
    can_see_invigilation_list,
    case_or_404,
    flag_or_404,
    possible_assignees,
    visible_cases_clause,
    visible_programmes_clause,
)
from .dpo import (
    BreachAction,
    breach_or_404,
    can_breach,
    can_read_report,
    visible_breaches_clause,
)
from .gates import (
    ACCESS_HANDLER_ROLES,
    ACCESS_WORKSPACE_ROLES,
    ANY_ROLE,
    AUDIT_TRAIL_ROLES,
    BREACH_REPORTER_ROLES,
    DASHBOARD_ROLES,
    EXAM_BOARD_ROLES,
    EXAM_MANAGERS,
    GUARDIAN_CHECK_ROLES,
    GUARDIAN_LINK_ROLES,
    GUARDIAN_ROLES,
    INTAKE_READER_ROLES,
    INTAKE_ROLES,
    INVIGILATION_ROLES,
    LATE_ALTERNATIVES_ROLES,
    REGISTER_EDITORS,
    REGISTER_READERS,
    REPORT_ROLES,
    REQUESTER_ROLES,
    RETENTION_ROLES,
    SELF_FILER_ROLES,
    STAFF_AREA_ROLES,
    STAFF_CASE_ROLES,
    USER_LIST_ROLES,
    has_role_in,
    roles_required,
)
from .guardians import (
    Filing,
    LinkAction,
    can_invite_guardians,
    can_link,
    can_read_privacy_notice,
    child_or_404,
    files_for_children,
    files_for_themselves,
    filing_decision,
    has_verified_link,
    link_or_404,
    privacy_exam_or_404,
    privacy_notice_children,
)
from .staff_tools import (
    can_edit_register,
    can_manage_exams,
    can_register_requests,
    can_see_delivery_status,
    exam_or_404,
    may_end_session,
    recording_for_hold_or_404,
    tool_or_404,
    works_on_cases,
)

__all__ = [
    "ACCESS_HANDLER_ROLES",
    "ACCESS_WORKSPACE_ROLES",
    "ANY_ROLE",
    "AUDIT_TRAIL_ROLES",
    "BREACH_REPORTER_ROLES",
    "DASHBOARD_ROLES",
    "DECIDER_ACTIONS",
    "EXAM_BOARD_ROLES",
    "EXAM_MANAGERS",
    "FILING_TYPES",
    "GUARDIAN_CHECK_ROLES",
    "GUARDIAN_LINK_ROLES",
    "GUARDIAN_ROLES",
    "INTAKE_READER_ROLES",
    "INTAKE_ROLES",
    "INVIGILATION_ROLES",
    "LATE_ALTERNATIVES_ROLES",
    "REGISTER_EDITORS",
    "REGISTER_READERS",
    "REPORT_ROLES",
    "REQUESTER_ROLES",
    "RETENTION_ROLES",
    "SELF_FILER_ROLES",
    "STAFF_AREA_ROLES",
    "STAFF_CASE_ROLES",
    "USER_LIST_ROLES",
    "Action",
    "BreachAction",
    "Filing",
    "LinkAction",
    "access_case_or_404",
    "board_cases_clause",
    "board_programme_ids",
    "breach_or_404",
    "can",
    "can_breach",
    "can_edit_register",
    "can_invite_guardians",
    "can_link",
    "can_manage_exams",
    "can_open_recording",
    "can_read_privacy_notice",
    "can_read_report",
    "can_register_requests",
    "can_review_flag",
    "can_see_delivery_status",
    "can_see_invigilation_list",
    "case_or_404",
    "child_or_404",
    "exam_or_404",
    "files_for_children",
    "files_for_themselves",
    "filing_decision",
    "flag_or_404",
    "has_role_in",
    "has_verified_link",
    "link_or_404",
    "may_end_session",
    "possible_assignees",
    "privacy_exam_or_404",
    "privacy_notice_children",
    "recording_for_hold_or_404",
    "roles_required",
    "tool_or_404",
    "visible_breaches_clause",
    "visible_cases_clause",
    "visible_programmes_clause",
    "works_on_cases",
]

"""The demo's register of tools: ProctorCam, ready, and CampusMeet, whose DPIA is missing.

ProctorCam, used by every demo exam, has a complete entry; CampusMeet, a video-call application,
has no DPIA yet, so the register shows it as not ready. Entries are made through the register's
services, so each has its first version on the audit trail. Dates are relative to today.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from ..accounts.models import User
from ..clock import today_local
from ..exams.models import ProctoringTool, ToolKind
from ..extensions import db
from ..register import entries as register_entries
from ..register.models import LegalBasis, RegisterVersion


def _demo_tool_facts(today: date) -> dict[str, dict[str, Any]]:
    """The register facts of the two demo tools, dated relative to ``today``."""
    ago = lambda days: today - timedelta(days=days)  # noqa: E731
    common: dict[str, Any] = {
        "legal_basis": LegalBasis.PUBLIC_TASK,
        "legal_basis_explanation": (
            "Art. 7.12b WHW: the exam board guarantees the quality and organisation of exams."
        ),
        "stakeholders_consulted": (
            f"University student council on {ago(320).isoformat()}; "
            f"faculty participation councils on {ago(315).isoformat()}."
        ),
        "policy_url": "https://www.demo-university.example/privacy/online-exams",
        "incident_procedure": (
            "Staff report a (possible) data breach to the privacy office within 24 hours at "
            "privacy@example.edu. The DPO assesses within 72 hours whether the Autoriteit "
            "Persoonsgegevens and the students must be told, and records it in the breach register."
        ),
    }
    return {
        "ProctorCam": {
            **common,
            "purpose": "Surveillance of remote exams to prevent and detect fraud.",
            "necessity": (
                "Students who cannot come to campus (abroad, ill, a disability) can take the exam "
                "remotely; without supervision the value of the diploma cannot be guaranteed."
            ),
            "alternatives_considered": (
                "A take-home open-book assignment, an oral exam and a paper were considered; for "
                "the large first-year exams they do not test the learning outcomes. A student "
                "who objects takes the exam on campus instead."
            ),
            "necessity_reviewed_on": ago(100),
            "intrusion_limits": (
                "Camera and screen only; no eye tracking and no keystroke analysis; one room scan "
                "at the start. Exam moments are combined so students are proctored as rarely as "
                "possible. Every automated flag is judged by a member of the exam board."
            ),
            "in_use_since": ago(300),
            "data_categories": [
                "camera video",
                "screen recording",
                "audio",
                "room scan",
                "automated flags",
            ],
            "vendor": "ProctorCam B.V.",
            "vendor_email": "privacy@proctorcam.example",
            "sub_processors": ["EuroCloud Hosting GmbH (Germany)"],
            "outside_eea": False,
            "retention_days": 90,
            "dpia_on": ago(340),
            "dpia_outcome": (
                "High risk reduced to acceptable by the measures above; no prior consultation of "
                "the AP needed."
            ),
            "dpia_next_review_on": today + timedelta(days=200),
            "dpo_advice_on": ago(330),
            "dpo_advice_summary": (
                "Positive, on condition that no eye tracking is used, recordings are deleted "
                "after 90 days and every student may choose an exam on campus."
            ),
            "processor_agreement_on": ago(350),
            "processor_agreement_expires_on": today + timedelta(days=700),
            "privacy_notice": (
                "During a remote exam ProctorCam records your camera, your screen and sound. "
                "We use the recordings only to check that the exam was taken fairly. A member of "
                "the exam board looks at every automated warning. We delete the recordings after "
                "90 days. You may object and take the exam on campus instead."
            ),
        },
        "CampusMeet": {
            **common,
            "purpose": "Online lectures, consultations and oral exams by video call.",
            "necessity": "Teaching and supervision for students who cannot come to campus.",
            "alternatives_considered": "Recorded lectures without video of students; telephone.",
            "intrusion_limits": "Students may keep their camera off, except during an oral exam.",
            "in_use_since": ago(60),
            "data_categories": ["name", "camera video", "audio", "chat messages"],
            "vendor": "CampusMeet Inc.",
            "vendor_email": "privacy@campusmeet.example",
            "sub_processors": ["US Cloud Corp. (United States)"],
            "outside_eea": True,
            "transfer_safeguards": (
                "EU-US Data Privacy Framework certification and standard contractual clauses."
            ),
            "retention_days": 30,
            "recording_rules": (
                "Calls are not recorded. An oral exam is recorded only when the exam board has "
                "decided so for a reason and the student was told beforehand."
            ),
            "dpo_advice_on": ago(90),
            "dpo_advice_summary": "Carry out a DPIA before wider use.",
            "processor_agreement_on": ago(100),
            "processor_agreement_expires_on": today + timedelta(days=365),
            "privacy_notice": (
                "In a video call your name, image and voice are shared with the participants. "
                "Calls are not recorded unless you are told beforehand."
            ),
        },
    }


def register_demo_tools(admin: User) -> ProctoringTool:
    """Create the demo register entries if missing; return ProctorCam, the ready tool."""
    kinds = {"ProctorCam": ToolKind.PROCTORING, "CampusMeet": ToolKind.VIDEO_CALL}
    tools = {}
    for name, facts in _demo_tool_facts(today_local()).items():
        tool = db.session.scalars(
            select(ProctoringTool).where(ProctoringTool.name == name)
        ).one_or_none()
        if tool is None:
            tool = register_entries.create_entry(
                name=name, kind=kinds[name], facts=facts, actor=admin, change_note="Demo data."
            )
        elif not db.session.scalar(
            select(func.count(RegisterVersion.id)).where(RegisterVersion.tool_id == tool.id)
        ):
            # A demo database from before the register: complete its entry once.
            register_entries.save_version(tool, facts, actor=admin, change_note="Demo data.")
        tools[name] = tool
    return tools["ProctorCam"]

"""Sending one e-mail: over SMTP, or as an .eml file in ``instance/mail`` (embedded default)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..clock import now_utc


def build_message(
    config: dict[str, Any], to: list[str], subject: str, body: str, outbox_id: int
) -> EmailMessage:
    """Return the MIME message for an outbox row; the Message-ID names the row for tracing."""
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(now_utc())
    # Stable per outbox row: a resend after a crash carries the same id, so receivers can dedupe.
    host = urlsplit(config.get("PORTAL_BASE_URL", "")).hostname or "rights-portal.invalid"
    message["Message-ID"] = f"<outbox-{outbox_id}@{host}>"
    message["X-Rights-Portal-Outbox-Id"] = str(outbox_id)
    message.set_content(body)
    return message


def send(config: dict[str, Any], message: EmailMessage) -> None:
    """Deliver ``message`` with the configured backend; raises on failure so the task retries."""
    if config["MAIL_BACKEND"] == "smtp":
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
        return
    mail_dir = Path(config["MAIL_DIR"])
    mail_dir.mkdir(parents=True, exist_ok=True)
    name = f"{now_utc():%Y%m%dT%H%M%S%f}-{message['X-Rights-Portal-Outbox-Id']}.eml"
    (mail_dir / name).write_bytes(bytes(message))

"""Asking for a background export through its page and downloading it, as the DPO does.

The request queues the build task through the task outbox; here the worker's part is played by
running its function, :func:`rights_portal.exports.services.build`, as the task would (the
suite's broker is in memory, with no worker). The download is then the exports page's link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient
from sqlalchemy import select

from rights_portal.exports.models import Export, ExportStatus
from rights_portal.exports.services import build
from rights_portal.extensions import db
from rights_portal.transactions import commit
from tests.conftest import post_form


def ask_for_export(client: FlaskClient, path: str, query: dict[str, str] | str = "") -> Any:
    """POST the export button of ``path`` (with the filters in its address); the answer."""
    query_string = query if isinstance(query, str) else urlencode(query)
    url = f"{path}?{query_string}" if query_string else path
    response = post_form(client, url, {})
    if response.status_code == 302:
        run_queued_builds()
    return response


def run_queued_builds() -> None:
    """What the worker does with the queued build tasks: build each export, commit."""
    db.session.expire_all()
    for export_id in db.session.scalars(
        select(Export.id).where(Export.status == ExportStatus.QUEUED).order_by(Export.id)
    ):
        build(export_id)
        commit()


def newest_export() -> Export:
    db.session.expire_all()
    export = db.session.scalars(select(Export).order_by(Export.id.desc()).limit(1)).first()
    assert export is not None, "no export was asked for"
    return export


def export_and_download(
    client: FlaskClient, path: str, query: dict[str, str] | str = ""
) -> tuple[Any, Any]:
    """Ask for the export, then download the file: (the asking answer, the download answer)."""
    asked = ask_for_export(client, path, query)
    assert asked.status_code == 302, asked.get_data(as_text=True)[:500]
    assert asked.headers["Location"].endswith("/staff/exports")
    export = newest_export()
    return asked, client.get(f"/staff/exports/{export.id}/download")

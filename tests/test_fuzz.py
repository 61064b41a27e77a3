"""Hostile input never breaks the portal: hypothesis fuzzes every form as every role (no 5xx).

The forms are discovered, not listed: every GET page of the app is opened as each role (with the
route walk's world of cases, exams, flags and links), and every ``<form method="post">`` on it is
collected with its field names and options. Hypothesis then fills the fields with random
unicode, huge values, markup, path-traversal names, control characters and random file bytes,
and submits them with a valid CSRF token. Every answer must be below 500, and no answer may echo
the injected markup unescaped.

CI runs ``FUZZ_EXAMPLES`` (default 2000) examples; the nightly-sized run sets
``FUZZ_EXAMPLES=10000`` (see SECURITY.md).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CSRF_RE, login
from tests.test_authorization import NOW, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.postgres
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
ROLES = ("anonymous", "student", "guardian_linked", "case_handler", "exam_board", "dpo", "admin")
MARKER = '<script>alert("rp-fuzz")</script>'
# Logging out (or ending one's own session from the list) would end the role's session for the
# examples after it.
SKIP_ACTIONS = {"/logout"}
SKIP_PREFIXES = ("/account/sessions/",)


@dataclass
class Form:
    role: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> options ([] = free)
    files: list[str] = field(default_factory=list)


class FormParser(HTMLParser):
    """Collect post forms with their inputs, selects (with options) and textareas."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[tuple[str, dict[str, list[str]], list[str]]] = []
        self._current: tuple[str, dict[str, list[str]], list[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._current = (a.get("action") or self.page_url, {}, [])
        if self._current is None:
            return
        fields, files = self._current[1], self._current[2]
        name = a.get("name", "")
        if tag == "input" and name and name != "csrf_token":
            kind = a.get("type", "text")
            if kind == "file":
                files.append(name)
            elif kind in ("radio", "checkbox"):
                fields.setdefault(name, []).append(a.get("value", "y"))
            else:
                fields.setdefault(name, [])
        elif tag == "textarea" and name:
            fields.setdefault(name, [])
        elif tag == "select" and name:
            fields.setdefault(name, [])
            self._select = name
        elif tag == "option" and self._select:
            fields[self._select].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form" and self._current is not None:
            self.forms.append(self._current)
            self._current = None


def discover(app: Any, scene: dict[str, Any]) -> tuple[list[Form], dict[str, Any]]:
    """Every post form on every GET page each role can open, and a logged-in client per role."""
    adapter = app.url_map.bind("localhost")
    params = scene["params"]
    forms: dict[tuple[str, str], Form] = {}
    clients = {}
    for role in ROLES:
        client = app.test_client()
        if role != "anonymous":
            login(client, scene["people"][role].email)
        clients[role] = client
        for rule in app.url_map.iter_rules():
            if rule.endpoint in ("static", "accounts.logout") or "GET" not in (rule.methods or ()):
                continue
            if set(rule.arguments) - set(params) - {"reference"}:
                continue  # objects this world does not make (access files, packages)
            references = (
                ("student_case", "guardian_case") if "reference" in rule.arguments else ("",)
            )
            for target in references:
                values = {**params, "reference": params.get(target, "")}
                url = adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments})
                response = client.get(url)
                if response.status_code != 200 or "html" not in response.content_type:
                    continue
                parser = FormParser(url)
                parser.feed(response.get_data(as_text=True))
                for action, fields, files in parser.forms:
                    path = urlsplit(action).path
                    if path in SKIP_ACTIONS or (
                        path.startswith(SKIP_PREFIXES) and path != "/account/sessions/end"
                    ):
                        continue
                    forms.setdefault((role, path), Form(role, path, fields, files))
    return list(forms.values()), clients


HOSTILE = st.sampled_from(
    [
        MARKER,
        "../../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "\x00\x01\x02",
        "' OR 1=1 --",
        "%00",
        "{{ 7*7 }}",
        "9" * 400,
        "-1",
        "0",
        "2026-02-30",
        "99999-12-31",
        "\u202e\u200b\ufeff",
        "😀" * 50,
        "",
        " ",
    ]
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(min_size=200, max_size=6000),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates().map(str),
    HOSTILE,
)


def value_for(options: list[str]) -> st.SearchStrategy[str]:
    if options:
        return st.one_of(st.sampled_from(options), TEXT)
    return TEXT


@pytest.fixture
def fuzz_targets(app, world):  # noqa: F811  (the imported fixture)
    with time_machine.travel(NOW, tick=True):
        forms, clients = discover(app, world)
    assert len(forms) >= 30, f"only {len(forms)} forms discovered"
    tokens = {}
    for role, client in clients.items():
        page = client.get("/a-page-that-does-not-exist")
        tokens[role] = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    return forms, clients, tokens


def test_no_form_answers_5xx_or_echoes_markup_for_any_generated_input(app, fuzz_targets):
    forms, clients, tokens = fuzz_targets
    tried: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=os.environ.get("FUZZ_EXAMPLES") is None,  # CI: the same sample every run
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(data=st.data())
    def submit(data: Any) -> None:
        form = data.draw(st.sampled_from(forms), label="form")
        payload: dict[str, Any] = {
            name: data.draw(value_for(options), label=name)
            for name, options in form.fields.items()
            if data.draw(st.booleans(), label=f"send {name}") or options
        }
        for name in form.files:
            content = data.draw(
                st.one_of(st.binary(max_size=2048), st.just(b"PK\x03\x04" + b"\x00" * 64)),
                label=name,
            )
            filename = data.draw(st.sampled_from(["export.zip", "../../evil.zip", "a.exe"]))
            payload[name] = (io.BytesIO(content), filename)
        payload["csrf_token"] = tokens[form.role]
        response = clients[form.role].post(
            form.action, data=payload, content_type="multipart/form-data"
        )
        tried.append(response.status_code)
        body = response.get_data(as_text=True) if "html" in response.content_type else ""
        assert response.status_code < 500, f"{form.role} POST {form.action}: {payload!r}"
        assert MARKER not in body, f"{form.role} POST {form.action} echoed markup unescaped"

    with time_machine.travel(NOW, tick=True):
        submit()
    print(f"\nfuzz: {len(tried)} inputs to {len(forms)} forms, 5xx: 0")
    assert len(tried) >= EXAMPLES

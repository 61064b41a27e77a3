"""A stand-in OOAPI v5 server for the sync's tests: real HTTP, the contract checked both ways.

:class:`OoapiServer` serves a mutable in-memory :class:`Dataset` (a test moves an exam or removes
an offering between syncs) on 127.0.0.1 at an ephemeral port with werkzeug, behind an OAuth2
client-credentials token endpoint (``/oauth/token``; every OOAPI request needs its bearer token).

Both directions are held to the published contract in ``../shared/contracts/ooapi-v5/ooapi.json``
(resolved from the repository root, never copied): every request's method and path must be an
operation of it and its query parameters parameters of that operation, and every response body
is validated against the operation's response schema (``$ref``s resolved within the bundled
file, read-only properties allowed). What does not conform is collected in ``violations``; the
fixture fails the test when any was found.

Fault modes: ``timeout`` (answers after ``delay`` seconds), ``error`` (500 with a problem body),
``endless`` (every page says ``hasNextPage: true``), optionally only for paths containing
``fault_on``.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT.parent / "shared" / "contracts" / "ooapi-v5" / "ooapi.json"
API_PREFIX = "/ooapi"
TOKEN_PATH = "/oauth/token"
CLIENT_ID = "rights-portal"
CLIENT_SECRET = "s3cret-for-tests"


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        """Keep the test output clean of access-log lines."""


class Contract:
    """The OOAPI v5 document: its operations as path patterns, and its response schemas."""

    def __init__(self, path: Path = CONTRACT) -> None:
        self.document = json.loads(path.read_text(encoding="utf-8"))
        self.patterns: list[tuple[re.Pattern[str], str]] = []
        for template in self.document["paths"]:
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            self.patterns.append((re.compile(f"^{regex}$"), template))
        self._validators: dict[tuple[str, str, str], OAS30ReadValidator] = {}

    def template_of(self, path: str) -> str | None:
        """The contract's path template ``path`` is an instance of, if any."""
        for pattern, template in self.patterns:
            if pattern.match(path):
                return template
        return None

    def operation(self, template: str, method: str) -> dict[str, Any] | None:
        operation = self.document["paths"][template].get(method.lower())
        return operation if isinstance(operation, dict) else None

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def query_parameters(self, template: str, method: str) -> set[str]:
        """The names of the operation's query parameters."""
        operation = self.operation(template, method) or {}
        shared = self.document["paths"][template].get("parameters", [])
        names = set()
        for parameter in [*shared, *operation.get("parameters", [])]:
            resolved = self._resolve(parameter)
            if resolved.get("in") == "query":
                names.add(resolved["name"])
        return names

    def validator(self, template: str, method: str, status: int) -> OAS30ReadValidator:
        """A validator of the operation's response body for ``status`` (JSON or problem)."""
        key = (template, method, str(status))
        if key not in self._validators:
            operation = self.operation(template, method) or {}
            responses = operation.get("responses", {})
            response = self._resolve(responses.get(str(status)) or responses["default"])
            content = response["content"]
            media = content.get("application/json") or content["application/problem+json"]
            schema = {**media["schema"], "components": self.document["components"]}
            self._validators[key] = OAS30ReadValidator(schema, format_checker=oas30_format_checker)
        return self._validators[key]


_CONTRACT: Contract | None = None


def contract() -> Contract:
    """The parsed contract, shared by every server of the run (it is read-only)."""
    global _CONTRACT
    if _CONTRACT is None:
        _CONTRACT = Contract()
    return _CONTRACT


def _text(value: str, language: str = "nl-NL") -> list[dict[str, str]]:
    return [{"language": language, "value": value}]


def _code(code_type: str, code: str) -> dict[str, str]:
    return {"codeType": code_type, "code": code}


def _moment(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


@dataclass
class Dataset:
    """The stand-in's data, in the contract's shapes; tests change it between syncs."""

    organization_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    programs: dict[str, dict[str, Any]] = field(default_factory=dict)
    courses: dict[str, dict[str, Any]] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    # component id -> offering id -> ComponentOffering
    offerings: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    persons: dict[str, dict[str, Any]] = field(default_factory=dict)
    # person id -> association id -> Association (with the offering id)
    associations: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def add_program(self, code: str, name: str) -> str:
        program_id = str(uuid.uuid4())
        self.programs[program_id] = {
            "programId": program_id,
            "primaryCode": _code("programCode", code),
            "programType": "program",
            "name": _text(name),
            "abbreviation": code,
            "description": _text(f"De opleiding {name}."),
            "teachingLanguage": "nld",
        }
        return program_id

    def add_course(self, code: str, name: str, program_id: str) -> str:
        course_id = str(uuid.uuid4())
        self.courses[course_id] = {
            "courseId": course_id,
            "primaryCode": _code("identifier", code),
            "name": _text(name),
            "abbreviation": code,
            "description": _text(f"Het vak {name}."),
            "teachingLanguage": "nld",
            "level": "bachelor",
            "programs": [program_id],
        }
        return course_id

    def add_component(self, course_id: str, name: str, component_type: str = "test") -> str:
        component_id = str(uuid.uuid4())
        self.components[component_id] = {
            "componentId": component_id,
            "primaryCode": _code("componentCode", f"C-{component_id[:8]}"),
            "componentType": component_type,
            "name": _text(name),
            "abbreviation": name[:20],
            "teachingLanguage": "nld",
            "course": course_id,
        }
        self.offerings.setdefault(component_id, {})
        return component_id

    def add_offering(self, component_id: str, name: str, starts_at: datetime) -> str:
        offering_id = str(uuid.uuid4())
        self.offerings[component_id][offering_id] = {
            "offeringId": offering_id,
            "primaryCode": _code("offeringCode", f"O-{offering_id[:8]}"),
            "offeringType": "component",
            "name": _text(name),
            "description": _text(name),
            "teachingLanguage": "nld",
            "resultExpected": True,
            "startDateTime": _moment(starts_at),
            "endDateTime": _moment(starts_at.replace(hour=min(starts_at.hour + 3, 23))),
            "component": component_id,
        }
        return offering_id

    def add_person(self, student_number: str, *, date_of_birth: str | None = None) -> str:
        person_id = str(uuid.uuid4())
        person: dict[str, Any] = {
            "personId": person_id,
            "primaryCode": _code("studentNumber", student_number),
            "givenName": "Sam",
            "surname": f"Student {student_number}",
            "displayName": f"Sam Student {student_number}",
            "affiliations": ["student"],
            "mail": f"{student_number}@student.uni.example",
            "activeEnrollment": True,
        }
        if date_of_birth is not None:
            person["dateOfBirth"] = date_of_birth
        self.persons[person_id] = person
        self.associations[person_id] = {}
        return person_id

    def enrol(self, person_id: str, offering_id: str, state: str = "associated") -> str:
        association_id = str(uuid.uuid4())
        self.associations[person_id][association_id] = {
            "associationId": association_id,
            "associationType": "componentOfferingAssociation",
            "role": "student",
            "state": state,
            "offering": offering_id,
        }
        return association_id

    def offering(self, offering_id: str) -> dict[str, Any]:
        for offerings in self.offerings.values():
            if offering_id in offerings:
                return offerings[offering_id]
        raise KeyError(offering_id)

    def move_offering(self, offering_id: str, starts_at: datetime) -> None:
        """The exam moves in the student-information system."""
        offering = self.offering(offering_id)
        offering["startDateTime"] = _moment(starts_at)
        offering["endDateTime"] = _moment(starts_at.replace(hour=min(starts_at.hour + 3, 23)))

    def remove_offering(self, offering_id: str) -> None:
        for offerings in self.offerings.values():
            offerings.pop(offering_id, None)
        for associations in self.associations.values():
            for key in [k for k, a in associations.items() if a["offering"] == offering_id]:
                del associations[key]


class OoapiServer:
    """The stand-in, serving a :class:`Dataset` on 127.0.0.1 over real HTTP."""

    def __init__(self, dataset: Dataset | None = None) -> None:
        self.data = dataset or Dataset()
        self.contract = contract()
        self.violations: list[str] = []
        self.requests: list[tuple[str, str]] = []  # (method, path with query) as received
        self.tokens: set[str] = set()
        self.fault: str | None = None
        self.fault_on: str | None = None
        self.delay = 2.0
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.root + TOKEN_PATH

    def config(self, **extra: Any) -> dict[str, Any]:
        """The portal's OOAPI_* settings for this server."""
        return {
            "OOAPI_BASE_URL": self.base_url,
            "OOAPI_TOKEN_URL": self.token_url,
            "OOAPI_CLIENT_ID": CLIENT_ID,
            "OOAPI_CLIENT_SECRET": CLIENT_SECRET,
            "OOAPI_ORGANIZATION_ID": self.data.organization_id,
            **extra,
        }

    def start(self) -> OoapiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- HTTP ---------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._handle(request)
        except Exception as error:  # a bug of the stand-in is a violation, not a silent 500
            self.violations.append(f"stand-in failed on {request.path}: {error!r}")
            response = Response("stand-in error", status=500)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        if request.path == TOKEN_PATH:
            return self._token(request)
        self.requests.append((request.method, request.full_path.rstrip("?")))
        if not request.path.startswith(API_PREFIX + "/"):
            self.violations.append(f"{request.method} {request.path}: outside the API")
            return Response(status=404)
        path = request.path[len(API_PREFIX) :]
        template = self.contract.template_of(path)
        if template is None or self.contract.operation(template, request.method) is None:
            self.violations.append(f"{request.method} {path}: not an operation of the contract")
            return Response(status=404)
        allowed = self.contract.query_parameters(template, request.method)
        unknown = set(request.args) - allowed
        if unknown:
            self.violations.append(f"{request.method} {path}: unknown parameters {sorted(unknown)}")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return self._problem(template, request.method, 401, "Unauthorized")
        faulty = self.fault is not None and (self.fault_on is None or self.fault_on in path)
        if faulty and self.fault == "timeout":
            time.sleep(self.delay)
        if faulty and self.fault == "error":
            return self._problem(template, request.method, 500, "Internal Server Error")
        status, body = self._answer(template, path, request)
        if status != 200:
            return self._problem(template, request.method, status, "Not Found")
        if faulty and self.fault == "endless" and "hasNextPage" in body:
            body = {**body, "hasNextPage": True}
            body.pop("totalPages", None)
        return self._json(template, request.method, 200, body, "application/json")

    def _token(self, request: Request) -> Response:
        basic = request.authorization
        client_id = basic.username if basic else request.form.get("client_id")
        secret = basic.password if basic else request.form.get("client_secret")
        if request.method != "POST" or request.form.get("grant_type") != "client_credentials":
            return Response(
                json.dumps({"error": "unsupported_grant_type"}),
                status=400,
                content_type="application/json",
            )
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return Response(
                json.dumps({"error": "invalid_client"}), status=401, content_type="application/json"
            )
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        return Response(json.dumps(body), content_type="application/json")

    def _json(self, template: str, method: str, status: int, body: Any, media: str) -> Response:
        validator = self.contract.validator(template, method, status)
        for error in validator.iter_errors(body):
            where = "/".join(str(p) for p in error.absolute_path)
            shown = f"{method.upper()} {template}"
            self.violations.append(f"response {status} to {shown} at {where}: {error.message[:99]}")
        return Response(json.dumps(body), status=status, content_type=media)

    def _problem(self, template: str, method: str, status: int, title: str) -> Response:
        body = {"status": str(status), "title": title, "detail": f"stand-in answered {status}"}
        return self._json(template, method, status, body, "application/problem+json")

    def _page(self, request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        size = int(request.args.get("pageSize", 10))
        if size not in (10, 20, 50, 100, 250):
            self.violations.append(f"pageSize {size} is not one the contract allows")
        number = max(1, int(request.args.get("pageNumber", 1)))
        pages = max(1, -(-len(items) // size))
        return {
            "pageSize": size,
            "pageNumber": number,
            "hasPreviousPage": number > 1,
            "hasNextPage": number < pages,
            "totalPages": pages,
            "items": items[(number - 1) * size : number * size],
        }

    def _answer(self, template: str, path: str, request: Request) -> tuple[int, dict[str, Any]]:
        data = self.data
        parts = path.strip("/").split("/")
        org = "/organizations/{organizationId}"
        if template.startswith(org) and parts[1] != data.organization_id:
            return 404, {}
        if template == f"{org}/programs":
            return 200, self._page(request, list(data.programs.values()))
        if template == f"{org}/courses":
            return 200, self._page(request, list(data.courses.values()))
        if template == f"{org}/components":
            kind = request.args.get("componentType")
            found = [c for c in data.components.values() if kind in (None, c["componentType"])]
            return 200, self._page(request, found)
        if template == "/components/{componentId}/offerings":
            if parts[1] not in data.components:
                return 404, {}
            return 200, self._page(request, list(data.offerings[parts[1]].values()))
        if template == "/persons":
            code = request.args.get("primaryCode")
            found = [p for p in data.persons.values() if code in (None, p["primaryCode"]["code"])]
            return 200, self._page(request, found)
        if template == "/persons/{personId}":
            person = data.persons.get(parts[1])
            return (200, person) if person else (404, {})
        if template == "/persons/{personId}/associations":
            if parts[1] not in data.persons:
                return 404, {}
            items = []
            for association in data.associations[parts[1]].values():
                if request.args.get("role") not in (None, association["role"]):
                    continue
                items.append({**association, "offering": data.offering(association["offering"])})
            return 200, self._page(request, items)
        self.violations.append(f"the stand-in does not serve {template}")
        return 404, {}

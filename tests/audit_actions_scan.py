"""Finds every audit action the code can record, by reading the source (for the labels test).

Audit actions are literal strings passed to ``record`` / ``record_case_event`` or to one of the
few wrappers that build the action from a literal (``_audit(breach, "closed")`` records
``breach.closed``). A call whose action is not a literal, outside those wrappers, is reported as
unreadable, so a new way of recording cannot slip past the labels test unnoticed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "rights_portal", ROOT / "workers")

# function name -> (positional index or keyword of the action, how the action is built)
WRAPPERS: dict[str, tuple[int | str, str]] = {
    "record": (0, "{}"),
    "record_case_event": (0, "{}"),
    "_audit": (1, "breach.{}"),
    "record_breach_event": (1, "breach.{}"),
    "_link_changed": (1, "guardian_link.{}"),
    "record_staff_open": ("what", "{}.opened"),
}


@dataclass
class Scan:
    """The actions found and the call sites whose action could not be read."""

    actions: dict[str, list[str]] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)


def _name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    # services.record_staff_open(...), audit.record(...); not analysis.record(...)
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and ((func.attr in WRAPPERS and func.attr != "record") or func.value.id == "audit")
    ):
        return func.attr
    return None


def _literals(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        if body is not None and orelse is not None:
            return body + orelse
    return None


def scan() -> Scan:
    """Every audit action in the source, with where it is recorded."""
    result = Scan()
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
                inside_wrapper = function.name in WRAPPERS
                for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
                    name = _name(call)
                    if name not in WRAPPERS:
                        continue
                    where, template = WRAPPERS[name]
                    if isinstance(where, int):
                        arg = call.args[where] if len(call.args) > where else None
                    else:
                        arg = next((k.value for k in call.keywords if k.arg == where), None)
                    site = f"{path.relative_to(ROOT)}:{call.lineno}"
                    values = _literals(arg) if arg is not None else None
                    if values is None:
                        if not inside_wrapper:
                            result.unreadable.append(site)
                        continue
                    for value in values:
                        result.actions.setdefault(template.format(value), []).append(site)
    return result


if __name__ == "__main__":
    found = scan()
    for action in sorted(found.actions):
        print(action)
    print("unreadable:", found.unreadable)

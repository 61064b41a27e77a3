"""Views ask the registry and the permission layer: none names a case type or a role (issue 21).

A view module is any module under ``rights_portal/`` that declares routes. In it, no attribute
of ``CaseType`` or ``Role`` is read and no ``.role`` of anyone is compared (``user.role in …``,
``….role is …``): which type does what is the case-type registry's, who may do what is
``rights_portal.permissions``'.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rights_portal"
FORBIDDEN_ENUMS = {"CaseType", "Role"}


def _declares_routes(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and target.attr in {
                    "route",
                    "get",
                    "post",
                    "put",
                    "patch",
                    "delete",
                }:
                    return True
    return False


def view_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if _declares_routes(ast.parse(path.read_text(encoding="utf-8")))
    ]


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in FORBIDDEN_ENUMS
        ):
            found.append(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.Compare) and any(
            isinstance(part, ast.Attribute) and part.attr == "role"
            for operand in (node.left, *node.comparators)
            for part in ast.walk(operand)
        ):
            found.append(f"a comparison of .role (line {node.lineno})")
    relative = path.relative_to(PACKAGE.parent)
    return [f"{relative}:{node}" for node in sorted(set(found))]


def test_the_view_modules_are_found() -> None:
    names = {str(path.relative_to(PACKAGE)) for path in view_modules()}
    assert {"portal/views.py", "staff/views.py", "access/views.py"} <= names


def test_no_view_names_a_case_type_or_a_role() -> None:
    found = [line for path in view_modules() for line in offences(path)]
    assert not found, "views decide by type or role themselves:\n" + "\n".join(found)

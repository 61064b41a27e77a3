"""The packages of ``rights_portal`` import each other in one direction: no circles, no views below.

The graph is read from the source with :mod:`ast`, every ``import`` and ``from … import`` of a
``rights_portal`` module, wherever it stands: at the top, inside a function (an import put
there "late" to dodge a circle is still a dependency, and still a circle), or under
``TYPE_CHECKING``. Its nodes are the domain packages (``rights_portal/<package>/``) and the
top-level modules (``permissions`` is a package too), with one refinement, taken from the
intended layers in docs/architecture.md: a domain's *view modules* (``views.py`` and
``*_views.py``) are a layer of their own above every domain — they ask
:mod:`rights_portal.permissions`, which reads every domain's models — so they are their own node
``<package>.views``. The page packages (``portal/``, ``staff/``) are views through and through
and stay one node each. Nothing below a view may import one (services never import views).

``rights_portal/__init__.py`` (``create_app``, which wires everything together) is not a node.

The core (audit, outbox, unit of work, db types) imports no domain at all.

Run this file alone to see the circles: ``pytest tests/test_architecture.py -q -n 0``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rights_portal"
PAGE_PACKAGES = frozenset({"portal", "staff"})

# Circles that are known and owned, to be emptied by the branch that untangles them; each is
# the sorted list of its nodes. Nothing may be added here: a new circle fails the test.
KNOWN_CIRCLES: dict[tuple[str, ...], str] = {
}


def _is_view_module(parts: tuple[str, ...]) -> bool:
    name = parts[-1]
    return name == "views" or name.endswith("_views")


def node_of(module: tuple[str, ...]) -> str | None:
    """The graph node of ``rights_portal.<module…>``; None for the package root itself."""
    if not module:
        return None
    top = module[0]
    if top in PAGE_PACKAGES or len(module) == 1:
        return top
    return f"{top}.views" if _is_view_module(module[-1:]) else top


def _module_parts(path: Path) -> tuple[str, ...]:
    relative = path.relative_to(PACKAGE).with_suffix("")
    parts = relative.parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported(path: Path) -> Iterator[tuple[tuple[str, ...], int]]:
    """Every ``rights_portal`` module ``path`` imports (as parts below the package), by line."""
    parts = _module_parts(path)
    package = parts if path.name == "__init__.py" else parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = tuple(alias.name.split("."))
                if name[0] == "rights_portal":
                    yield name[1:], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = base + tuple(node.module.split(".")) if node.module else base
            elif node.module and node.module.split(".")[0] == "rights_portal":
                target = tuple(node.module.split("."))[1:]
            else:
                continue
            yield target, node.lineno
            # ``from . import views`` and ``from ..accounts import services`` name modules.
            for alias in node.names:
                yield (*target, alias.name), node.lineno


@cache
def import_graph() -> dict[tuple[str, str], list[str]]:
    """(importer node, imported node) -> where, as ``path:line``, for every edge between nodes."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        source = node_of(_module_parts(path))
        if source is None:
            continue
        for target, line in _imported(path):
            if not (PACKAGE.joinpath(*target).is_dir() or _is_module(target)):
                continue  # a name imported from a module, not a module
            imported = node_of(target)
            place = f"{path.relative_to(ROOT)}:{line}"
            if (
                imported is not None
                and imported != source
                and place not in edges[(source, imported)]
            ):
                edges[(source, imported)].append(place)
    return dict(edges)


def _is_module(parts: tuple[str, ...]) -> bool:
    return bool(parts) and PACKAGE.joinpath(*parts).with_suffix(".py").is_file()


def circles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    successors: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        successors[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(successors[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(successors):
        if node not in index:
            visit(node)
    return sorted(found)


def describe(circle: list[str], edges: dict[tuple[str, str], list[str]]) -> str:
    """The circle's nodes and every edge inside it, with where each import stands."""
    lines = [" <-> ".join(circle)]
    for (source, target), places in sorted(edges.items()):
        if source in circle and target in circle:
            lines.append(f"    {source} -> {target}: {', '.join(places)}")
    return "\n".join(lines)


def test_the_graph_sees_the_imports_it_must_see() -> None:
    # A guard on the reader itself: a graph that lost its edges would find no circle either.
    edges = import_graph()
    assert ("cases", "accounts") in edges  # cases/services.py imports the accounts' models
    assert ("accounts.views", "permissions") in edges
    assert ("permissions", "accounts") in edges
    assert circles({("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}) == [
        ["a", "b", "c"]
    ]


def test_no_import_circle_between_the_packages() -> None:
    edges = import_graph()
    new = [circle for circle in circles(edges) if tuple(circle) not in KNOWN_CIRCLES]
    assert not new, "import circles between packages:\n" + "\n".join(
        describe(circle, edges) for circle in new
    )


def test_the_known_circles_are_still_there_until_their_branch_empties_the_list() -> None:
    # A known circle that is gone must leave the list, so the list stays true.
    present = {tuple(circle) for circle in circles(import_graph())}
    gone = [circle for circle in KNOWN_CIRCLES if circle not in present]
    assert not gone, f"no longer circles, remove them from KNOWN_CIRCLES: {gone}"


def test_nothing_below_the_views_imports_a_view_module_or_a_page_package() -> None:
    views = {node for edge in import_graph() for node in edge if node.endswith(".views")}
    pages = views | PAGE_PACKAGES
    wrong = [
        f"{source} -> {target}: {', '.join(places)}"
        for (source, target), places in sorted(import_graph().items())
        if target in pages and source not in pages
    ]
    assert not wrong, "domain code importing views or pages:\n" + "\n".join(wrong)


# The core of docs/architecture.md: the audit chain, the outbox, the unit of work, db types.
CORE = frozenset(
    {
        "audit",
        "notifications",
        "delivery",
        "transactions",
        "extensions",
        "db_types",
        "dbutil",
        "clock",
        "config",
        "errors",
        "csvexport",
    }
)
# Known and owned, like KNOWN_CIRCLES: nothing may be added.
KNOWN_CORE_REACHES: dict[tuple[str, str], str] = {}


def test_the_core_imports_no_domain_and_no_screen() -> None:
    # R24: the audit core takes ids and plain values; who receives its checks is wired in
    # create_app, so it imports neither accounts nor cases.
    wrong = [
        f"{source} -> {target}: {', '.join(places)}"
        for (source, target), places in sorted(import_graph().items())
        if source in CORE and target not in CORE and (source, target) not in KNOWN_CORE_REACHES
    ]
    assert not wrong, "the core reaches out of the core:\n" + "\n".join(wrong)

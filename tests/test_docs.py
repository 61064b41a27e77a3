"""docs/rules.md stays the true, self-contained account of the rules the code and tests cite.

Three checks, all on the files git tracks: every rule number cited in ``rights_portal/`` or
``tests/`` has its entry in docs/rules.md; every ``path: name`` pointer in docs/rules.md names a
file that exists and, where names follow, names defined in it; and nothing outside ``tests/``
refers to a specification that is not in the repository.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "docs" / "rules.md"

RULE_CITATION = re.compile(r"\bR(\d{1,3})(?:\s*[-\u2013]\s*R(\d{1,3}))?\b")
RULE_HEADING = re.compile(r"^#{2,6}\s+R(\d+):", re.MULTILINE)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
POINTER = re.compile(
    r"^(?P<path>(?:rights_portal|workers|tests|bench|migrations|docs)/[\w./-]*)"
    r"(?::\s*(?P<names>.+))?$"
)
# The specification lives outside the repository; a clone must not depend on it.
OUTSIDE_REFERENCE = re.compile(r"\.\./shared|\bDESIGN\b")


@cache
def tracked_files() -> tuple[str, ...]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    )
    return tuple(name for name in listing.stdout.split("\0") if name)


@cache
def read_text(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8", errors="replace")


def cited_rules(text: str) -> set[int]:
    numbers: set[int] = set()
    for first, last in RULE_CITATION.findall(text):
        start = int(first)
        numbers.update(range(start, int(last or start) + 1))
    return numbers


def rules_page() -> str:
    assert RULES.exists(), "docs/rules.md is missing"
    return RULES.read_text(encoding="utf-8")


def defines(source: str, name: str) -> bool:
    """A def, class, assignment, enum member or quoted (constraint or index) name in source."""
    word = re.escape(name)
    pattern = rf"(?:def|class)\s+{word}\b|^\s*{word}\s*[:=]|[\"']{word}[\"']"
    return re.search(pattern, source, re.MULTILINE) is not None


def test_every_rule_cited_in_code_and_tests_has_an_entry_in_the_rules_page() -> None:
    entries = {int(number) for number in RULE_HEADING.findall(rules_page())}
    citing: dict[int, str] = {}
    for name in tracked_files():
        if name.startswith(("rights_portal/", "tests/")):
            for number in cited_rules(read_text(name)):
                citing.setdefault(number, name)
    missing = [
        f"R{number} (cited in {name})"
        for number, name in sorted(citing.items())
        if number not in entries
    ]
    assert not missing, f"rules cited but without an entry in docs/rules.md: {missing}"


def test_the_rules_page_has_one_entry_per_rule_in_order() -> None:
    numbers = [int(number) for number in RULE_HEADING.findall(rules_page())]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 27


def test_every_path_and_name_the_rules_page_points_to_exists() -> None:
    wrong: list[str] = []
    pointers = 0
    for span in CODE_SPAN.findall(rules_page()):
        match = POINTER.match(span.strip())
        if match is None:
            continue
        pointers += 1
        path = ROOT / match["path"]
        if not path.exists():
            wrong.append(f"{span}: no such path")
            continue
        if not match["names"]:
            continue
        source = read_text(match["path"])
        for name in (part.strip() for part in match["names"].split(",")):
            if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
                wrong.append(f"{span}: {name!r} is not a name")
            elif not defines(source, name.rsplit(".", 1)[-1]):
                wrong.append(f"{span}: {name} is not defined in {match['path']}")
    assert pointers > 50, "the rules page no longer points to the code"
    assert not wrong, "docs/rules.md points to things that do not exist:\n" + "\n".join(wrong)


def test_nothing_outside_tests_refers_to_the_specification_outside_the_repository() -> None:
    offenders = [
        f"{name}:{number}: {line.strip()}"
        for name in tracked_files()
        if not name.startswith("tests/")
        for number, line in enumerate(read_text(name).splitlines(), start=1)
        if OUTSIDE_REFERENCE.search(line)
    ]
    assert not offenders, "refer to docs/rules.md instead:\n" + "\n".join(offenders)


MARKDOWN_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for heading in HEADING.findall(text):
        plain = re.sub(r"[`*_]", "", heading).lower()
        anchors.add(re.sub(r"[^\w\- ]", "", plain).replace(" ", "-"))
    return anchors


def test_every_relative_link_in_the_docs_reaches_a_file_and_heading() -> None:
    tracked = set(tracked_files())
    wrong: list[str] = []
    pages = [name for name in tracked if name.endswith(".md") and "node_modules" not in name]
    for name in pages:
        for target in MARKDOWN_LINK.findall(read_text(name)):
            if re.match(r"[a-z]+:", target):
                continue  # http(s)://, mailto: — not checked offline
            path, _, anchor = target.partition("#")
            linked = name
            if path:
                resolved = (ROOT / Path(name).parent / path).resolve()
                linked = resolved.relative_to(ROOT.resolve()).as_posix()
            if path and not (linked in tracked or (ROOT / linked).is_dir()):
                wrong.append(f"{name}: {target} (no such file)")
            elif anchor and linked.endswith(".md") and anchor not in heading_anchors(
                read_text(linked)
            ):
                wrong.append(f"{name}: {target} (no such heading)")
    assert "docs/deployment.md" in tracked
    assert not wrong, "broken links:\n" + "\n".join(wrong)

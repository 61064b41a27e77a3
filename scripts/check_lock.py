"""Check that the lock files still satisfy pyproject.toml, and the virtualenv the lock.

``make test`` runs this first. It fails (exit 1, with what to do) when:

- a requirement of ``pyproject.toml`` (runtime, or the ``dev`` extra for the dev lock) is not
  pinned in the lock, or pinned at a version its range excludes — someone changed
  ``pyproject.toml`` without ``make lock``;
- a package that a locked package needs (by the metadata of the installed distributions, with
  extras followed) is missing from the lock or pinned outside the range asked for;
- the runtime lock and the dev lock pin a package at different versions (the image would run
  other versions than the suite tested);
- an installed distribution differs from its pin: the virtualenv drifted from the lock.

It reads files and installed metadata only; nothing is fetched.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
PYPROJECT = ROOT / "pyproject.toml"
PROJECT = "rights-portal"


def read_lock(path: Path) -> dict[str, Version]:
    """Pins of ``path`` that apply to this interpreter: canonical name -> version."""
    pins: dict[str, Version] = {}
    for raw in path.read_text().splitlines():
        if not raw or raw[0] in " #-":
            continue  # hashes and comments are indented or start with '#'; options with '-'
        requirement = Requirement(raw.rstrip(" \\"))
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        (spec,) = requirement.specifier  # a lock pins exactly: name==version
        pins[canonicalize_name(requirement.name)] = Version(spec.version)
    return pins


def project_requirements(pyproject: Path, extras: Iterable[str]) -> list[Requirement]:
    """The project's requirements from ``pyproject``, with those of ``extras``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    """Whether ``requirement`` is needed here, given the extras asked of its parent."""
    if requirement.marker is None:
        return True
    environment = default_environment()
    return any(
        requirement.marker.evaluate({**environment, "extra": extra})
        for extra in (extras or {""})
    )


def problems_of(lock: Path, extras: Iterable[str], pyproject: Path = PYPROJECT) -> list[str]:
    """Every way ``lock`` fails the requirements of ``pyproject`` (empty when it satisfies them)."""
    pins = read_lock(lock)
    found: list[str] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    wanted = [
        (r, PROJECT) for r in project_requirements(pyproject, extras) if applies(r, frozenset())
    ]
    while wanted:
        requirement, wanted_by = wanted.pop()
        name = canonicalize_name(requirement.name)
        pinned = pins.get(name)
        if pinned is None:
            found.append(f"{lock.name}: {requirement} (needed by {wanted_by}) is not in the lock")
            continue
        if not requirement.specifier.contains(pinned, prereleases=True):
            found.append(
                f"{lock.name}: {name}=={pinned} does not satisfy {requirement} "
                f"(needed by {wanted_by})"
            )
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            needs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here (another platform's pin): its range was checked
        for line in needs:
            child = Requirement(line)
            if applies(child, frozenset(requirement.extras)):
                child.marker = None
                wanted.append((child, name))
    return found


def drift_of(pins: dict[str, Version]) -> list[str]:
    """Installed distributions whose version differs from their pin."""
    found = []
    for name, version in sorted(pins.items()):
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            found.append(f"{name}=={version} is locked but not installed")
            continue
        if installed != version:
            found.append(f"{name} is {installed} in the virtualenv, the lock pins {version}")
    return found


def main() -> int:
    """Run every check; print what is wrong and how to mend it."""
    problems = problems_of(RUNTIME_LOCK, []) + problems_of(DEV_LOCK, ["dev"])
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
    problems += [
        f"{name}: {RUNTIME_LOCK.name} pins {version}, {DEV_LOCK.name} pins {dev.get(name)}"
        for name, version in sorted(runtime.items())
        if dev.get(name) != version
    ]
    if problems:
        print("The lock files do not satisfy pyproject.toml:", *problems, sep="\n  ")
        print("Run `make lock` to refresh them (and commit both).")
        return 1
    drift = drift_of(dev)
    if drift:
        print("The virtualenv differs from requirements-dev.lock:", *drift, sep="\n  ")
        print("Run `make install` (or delete .venv) to install exactly the lock.")
        return 1
    print(f"lock ok: {len(runtime)} runtime and {len(dev)} dev pins satisfy pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())

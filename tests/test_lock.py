"""The lock files pin what every install gets, and say so when pyproject.toml moved on.

``make test`` runs ``scripts/check_lock.py`` before the suite; these tests show that its checks
fail for the drift they are there to catch, on copies of pyproject.toml changed as a person would.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def check_lock() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_lock", ROOT / "scripts/check_lock.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def changed_pyproject(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "pyproject.toml").read_text()
    assert old in text
    path = tmp_path / "pyproject.toml"
    path.write_text(text.replace(old, new))
    return path


def test_the_committed_locks_satisfy_pyproject_and_agree_with_each_other():
    result = subprocess.run(
        [sys.executable, "scripts/check_lock.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lock ok" in result.stdout


def test_every_pin_carries_a_hash(check_lock):
    for lock in (check_lock.RUNTIME_LOCK, check_lock.DEV_LOCK):
        entries = lock.read_text().split("\n")
        pins = [i for i, line in enumerate(entries) if line and line[0] not in " #-"]
        assert pins, lock
        for index in pins:
            assert "==" in entries[index], entries[index]
            assert entries[index + 1].strip().startswith("--hash=sha256:"), entries[index]


def test_a_raised_lower_bound_that_the_lock_does_not_meet_is_reported(check_lock, tmp_path):
    pyproject = changed_pyproject(tmp_path, '"Flask>=3.0"', '"Flask>=99"')
    problems = check_lock.problems_of(check_lock.RUNTIME_LOCK, [], pyproject)
    assert any("flask==" in p and "Flask>=99" in p for p in problems), problems


def test_a_new_dependency_missing_from_the_lock_is_reported(check_lock, tmp_path):
    pyproject = changed_pyproject(tmp_path, '"pyotp>=2.9",', '"pyotp>=2.9",\n    "left-pad>=1",')
    problems = check_lock.problems_of(check_lock.RUNTIME_LOCK, [], pyproject)
    assert problems == [
        "requirements.lock: left-pad>=1 (needed by rights-portal) is not in the lock"
    ]


def test_a_new_dev_dependency_is_checked_against_the_dev_lock_only(check_lock, tmp_path):
    pyproject = changed_pyproject(tmp_path, '"pytest>=8.0",', '"pytest>=8.0",\n    "left-pad>=1",')
    assert check_lock.problems_of(check_lock.RUNTIME_LOCK, [], pyproject) == []
    assert check_lock.problems_of(check_lock.DEV_LOCK, ["dev"], pyproject)


def test_a_dependency_of_a_locked_package_missing_from_the_lock_is_reported(check_lock, tmp_path):
    lock = tmp_path / "requirements.lock"
    text = check_lock.RUNTIME_LOCK.read_text()
    start = text.index("\nkombu==") + 1  # celery needs kombu: drop kombu's pin and its hashes
    end = text.index("\n", text.index("# via", start))
    lock.write_text(text[:start] + text[end + 1 :])
    problems = check_lock.problems_of(lock, [])
    kombu = [p for p in problems if p.startswith("requirements.lock: kombu")]
    assert any("celery" in p for p in kombu), problems

"""The locks the bootstrap installs (`pip install --require-hashes`) agree with the
hand-edited requirements: every package pinned with hashes, every range met, the runtime
and dev locks on the same versions. A requirement edited without refreshing the lock
fails here, not on a fresh machine (docs/operations.md says how to refresh)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PAIRS = [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")]


def pins(lock: Path) -> dict[str, str]:
    """name -> version of a pip-compile --generate-hashes file; fails on a pin without a hash."""
    text = lock.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1] if text.startswith("#") else text)
    found: dict[str, str] = {}
    for entry in entries:
        first = entry.strip().splitlines()[0] if entry.strip() else ""
        if not first or first.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s\\]+)\s*\\?", first)
        assert match, f"{lock.name}: not an exact pin: {first!r}"
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"{lock.name}: {first} has no hash"
        found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def requirements(path: Path) -> list[Requirement]:
    out: list[Requirement] = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            out.extend(requirements(path.parent / line[3:].strip()))
        else:
            out.append(Requirement(line))
    return out


@pytest.mark.parametrize(("source", "lock"), PAIRS)
def test_every_requirement_is_pinned_with_hashes_within_its_range(source: str, lock: str) -> None:
    pinned = pins(REPO / lock)
    assert len(pinned) > 20
    for requirement in requirements(REPO / source):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not in {lock}: refresh the lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {name}=={pinned[name]}, outside {source}'s {requirement}: refresh the lock")


def test_the_dev_lock_installs_the_runtime_lock_versions() -> None:
    runtime, dev = pins(REPO / "requirements.lock"), pins(REPO / "requirements-dev.lock")
    assert not set(runtime) - set(dev)
    assert {name: dev[name] for name in runtime if dev[name] != runtime[name]} == {}

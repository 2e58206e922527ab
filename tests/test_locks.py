"""The hash-locked requirement files agree with the ranges we support and with each other.

``scripts/lock`` writes them; a range changed in ``requirements*.txt`` without locking again, a
pin outside its range, a package without hashes or two versions of one package in the two locks
fail here, before an install on a fresh machine could disagree with the one that was tested.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"requirements.txt": "requirements.lock", "requirements-dev.txt": "requirements-dev.lock"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def ranges(name: str) -> list[Requirement]:
    """The requirements of one file and the files it includes (``-r``)."""
    found = []
    for raw in (ROOT / name).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += ranges(line[3:].strip())
        elif line:
            found.append(Requirement(line))
    return found


def pins(lock: str) -> dict[str, list[tuple[Version, Marker | None, int]]]:
    """Package -> its pins: version, environment marker, number of hashes."""
    lines = (ROOT / lock).read_text(encoding="utf-8").splitlines()
    found: dict[str, list[tuple[Version, Marker | None, int]]] = {}
    for i, line in enumerate(lines):
        m = PIN.match(line)
        if not m:
            continue
        hashes = 0
        for following in lines[i + 1 :]:
            if not following.startswith("    --hash=sha256:"):
                break
            hashes += 1
        marker = Marker(m.group(3)) if m.group(3) else None
        found.setdefault(canonicalize_name(m.group(1)), []).append((Version(m.group(2)), marker, hashes))
    return found


@pytest.mark.parametrize(("source", "lock"), LOCKS.items())
def test_every_range_is_locked_within_it(source: str, lock: str) -> None:
    locked = pins(lock)
    problems = []
    for requirement in ranges(source):
        name = canonicalize_name(requirement.name)
        if name not in locked:
            problems.append(f"{name} is not in {lock}")
            continue
        problems += [f"{name}=={version} is outside {requirement.specifier}" for version, _marker, _hashes in locked[name]
                     if not requirement.specifier.contains(version, prereleases=True)]  # fmt: skip
        for extra in requirement.extras:  # psycopg[binary] brings psycopg-binary
            if extra == "binary" and canonicalize_name(f"{name}-binary") not in locked:
                problems.append(f"{name}[{extra}] is locked without {name}-binary")
    assert not problems, f"{problems}: run scripts/lock"


@pytest.mark.parametrize("lock", LOCKS.values())
def test_every_pin_has_hashes(lock: str) -> None:
    locked = pins(lock)
    assert len(locked) > 20
    unhashed = [name for name, entries in locked.items() for _version, _marker, hashes in entries if hashes == 0]
    assert not unhashed, f"{unhashed}: run scripts/lock (pip installs a lock only when every pin has hashes)"


def test_both_locks_install_the_same_versions() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    differ = {
        name: (sorted(str(v) for v, _m, _h in runtime[name]), sorted(str(v) for v, _m, _h in dev[name]))
        for name in runtime.keys() & dev.keys()
        if {v for v, _m, _h in runtime[name]} != {v for v, _m, _h in dev[name]}
    }
    assert not differ, f"{differ}: run scripts/lock"
    assert runtime.keys() <= dev.keys(), sorted(runtime.keys() - dev.keys())


def test_each_python_we_support_gets_one_version_of_each_package() -> None:
    for python in ("3.11", "3.12", "3.13", "3.14"):
        environment = {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
                       "platform_system": "Linux", "implementation_name": "cpython",
                       "platform_python_implementation": "CPython", "platform_machine": "x86_64"}  # fmt: skip
        for name, entries in pins("requirements-dev.lock").items():
            chosen = [v for v, marker, _h in entries if marker is None or marker.evaluate(environment)]
            assert len(chosen) <= 1, (python, name, chosen)

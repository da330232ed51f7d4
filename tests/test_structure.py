"""The shape of the code: the seam between services and tasks, the README's map of the rooms,
and modules kept to a readable size. (Which way imports point is checked by `lint-imports`,
run by ./scripts/test before the suite.)"""

from __future__ import annotations

import re
from pathlib import Path

from mutualaid.outbox.jobs import task_named

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = ["mutualaid", "organisation", "plans", "enrollment", "claims", "oversight", "demo"]
ENQUEUED = re.compile(r"""jobs\.enqueue\(\s*["']([\w.]+)["']""")
MAX_LINES = 800


def _sources() -> list[Path]:
    files = []
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or "tests" in path.parts:
                continue
            files.append(path)
    return files


def test_every_task_a_service_names_is_a_registered_task():
    names = {name for path in _sources() for name in ENQUEUED.findall(path.read_text())}
    assert len(names) >= 7  # roster check/import/fee notice/certificates, proposal, notice, bundle
    for name in sorted(names):
        task = task_named(name)
        assert task.name == name, f"{name} is registered as {task.name}"
        assert callable(task.delay)


def test_the_readme_layout_names_every_room_and_only_real_paths():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    cells = [line.split("|") for line in layout.splitlines() if line.startswith("| ")]
    rows = [row[2:4] for row in cells if len(row) > 4 and "`" in row[2]]
    rooms = {re.search(r"`([^`]+)`", path).group(1): text for path, text in rows}
    packages = {
        f"{path.parent.name}/"
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "bench"}
    }
    assert packages <= set(rooms), f"rooms missing from the README: {packages - set(rooms)}"
    mentioned = re.compile(r"`((?:[\w.]+/)*[\w.]+(?:/|\.py))`")
    for room, text in rooms.items():
        for path in [room, *mentioned.findall(text)]:
            assert (ROOT / path).exists() or (ROOT / room / path).exists(), (
                f"the README's layout names {path} in {room}, which does not exist"
            )
    for path in mentioned.findall(layout[layout.index("How the pieces meet") :]):
        assert (ROOT / path).exists(), f"the README names {path}, which does not exist"


def test_no_module_is_too_long_to_read():
    long = {
        str(path.relative_to(ROOT)): count
        for path in _sources()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these by what they do: {long}"

"""The limited child process that reads untrusted workbooks (plans/engine/sandbox.py).

Every way a reader can end badly (out of memory, a Rust abort, a panic that is not an
Exception, spinning, hanging) comes back to the parent as a SandboxFailure of the right kind,
and through ``check_roster`` as a file-level refusal; the parent (this test process) carries on.
Memory is asserted where it is deterministic: the child's limit is what stopped it, and this
process did not grow by the hostile file. Wall time is never asserted here (see
bench/hostile_files.py for the figures).
"""

from __future__ import annotations

import pytest

from plans.engine import roster as roster_module
from plans.engine.findings import ERROR
from plans.engine.roster import Limits, RosterFileError, check_roster
from plans.engine.sandbox import CRASH, MEMORY, TIME, SandboxFailure, run_limited
from plans.tests.roster_builders import (
    COVERAGE_START,
    TODAY,
    long_shared_string,
    person,
    plan_rules,
    sheet_stored_as,
    wide_row,
    write_roster,
)

TARGETS = "plans.tests.sandbox_targets:"
SMALL = Limits(memory_mb=256, cpu_seconds=20, wall_seconds=60)


def own_peak_mb() -> float:
    """This process's peak resident size, after resetting it (Linux clear_refs 5)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def failure(target: str, *args, limits: Limits = SMALL, **kwargs) -> SandboxFailure:
    with pytest.raises(SandboxFailure) as caught:
        run_limited(TARGETS + target, *args, limits=limits, **kwargs)
    return caught.value


@pytest.fixture
def roster(tmp_path) -> bytes:
    return write_roster(tmp_path / "roster.xlsx", [person(1), person(2)]).read_bytes()


# --- the runner -------------------------------------------------------------------------------


def test_arguments_go_in_and_plain_values_and_dates_come_back():
    answer = run_limited(TARGETS + "echo", 1, "二", b"\x00", k=[1.5, None], limits=SMALL)
    assert answer == {"args": [1, "二", b"\x00"], "kwargs": {"k": [1.5, None]}}
    dates = run_limited(TARGETS + "dates", limits=SMALL)
    assert [type(d).__name__ for d in dates] == ["date", "datetime", "time"]


def test_running_out_of_memory_is_a_memory_failure():
    assert failure("allocate", 4096).kind == MEMORY
    # The same work within the limit succeeds: the budget is above the child's start.
    assert run_limited(TARGETS + "allocate", 128, limits=SMALL) == 8


def test_spinning_past_the_cpu_limit_is_a_time_failure():
    stopped = failure("spin", 30, limits=Limits(memory_mb=256, cpu_seconds=1, wall_seconds=60))
    assert (stopped.kind, stopped.detail) == (TIME, "SIGXCPU")


def test_hanging_past_the_wall_clock_limit_is_a_time_failure():
    stopped = failure("sleep", 30, limits=Limits(memory_mb=256, cpu_seconds=20, wall_seconds=1))
    assert (stopped.kind, stopped.detail) == (TIME, "wall-clock limit")


def test_an_abort_is_a_crash_and_the_parent_carries_on():
    stopped = failure("abort")
    assert (stopped.kind, stopped.detail) == (CRASH, "SIGABRT")
    assert run_limited(TARGETS + "echo", limits=SMALL) == {"args": [], "kwargs": {}}


def test_a_panic_that_is_not_an_exception_is_a_crash():
    stopped = failure("panic")
    assert (stopped.kind, stopped.detail) == (CRASH, "PanicException")


def test_an_answer_that_is_not_plain_data_is_never_unpickled():
    assert failure("not_plain").kind == CRASH


def test_the_child_gets_no_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "do-not-pass")
    monkeypatch.setenv("DATABASE_URL", "postgres://secret@db/x")
    keys = (
        run_limited("os:getenv", "SECRET_KEY", limits=SMALL),
        run_limited("os:getenv", "DATABASE_URL", limits=SMALL),
    )
    assert keys == (None, None)


# --- readers on hostile files: the child's limit is what stops them --------------------------


def test_calamine_aborting_on_a_far_value_is_caught_as_memory(roster):
    # What happened before every part was scanned: calamine handed a sheet with a value in
    # XFD1048576 asks for 512 GB and aborts the process. Here only the child goes.
    data = sheet_stored_as(roster, "xl/media/sheet1.bin")
    stopped = failure("read_dense", data)
    assert stopped.kind == MEMORY


def test_calamine_copying_a_long_string_is_stopped_by_the_memory_limit(roster):
    # 60 copies of 60 MB: calamine passes 3.6 GB; the 256 MB budget stops it well before.
    reset = reset_peak()
    before = own_peak_mb()
    stopped = failure("read_dense", long_shared_string(roster, 60 * 1024 * 1024, 60))
    assert stopped.kind == MEMORY
    if reset:
        assert own_peak_mb() - before < 300


# --- through check_roster: every failure is a file-level refusal ------------------------------


@pytest.mark.parametrize(
    ("kind", "code"),
    [(MEMORY, "file_too_large"), (TIME, "file_too_large"), (CRASH, "file_corrupt")],
)
def test_each_failure_of_the_child_is_a_file_level_refusal(monkeypatch, roster, kind, code):
    def stopped(*args, **kwargs):
        raise SandboxFailure(kind, "test")

    monkeypatch.setattr(roster_module, "run_limited", stopped)
    with pytest.raises(RosterFileError) as caught:
        check(roster, sandbox=SMALL)
    finding = caught.value.finding
    assert (finding.code, finding.level, finding.row) == (code, ERROR, None)
    assert finding.message


def test_a_real_memory_limit_reached_while_reading_is_file_too_large(tmp_path):
    # 5,000 rows need some megabytes to read; a 2 MB budget cannot hold them.
    path = write_roster(tmp_path / "big.xlsx", [person(i) for i in range(1, 5001)])
    with pytest.raises(RosterFileError) as caught:
        check(path, sandbox=Limits(memory_mb=2, cpu_seconds=20, wall_seconds=60))
    assert caught.value.finding.code == "file_too_large"
    assert check(path, sandbox=SMALL).rows == 5000


def test_a_roster_read_in_the_sandbox_is_checked_as_in_process(roster):
    inside = check(roster, sandbox=SMALL)
    outside = check(roster)
    assert inside.as_json() == outside.as_json()
    assert (inside.sheet_name, inside.header_row, inside.columns) == (
        outside.sheet_name,
        outside.header_row,
        outside.columns,
    )
    assert [vars_of(r) for r in inside.all_rows] == [vars_of(r) for r in outside.all_rows]


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda base: sheet_stored_as(base, "xl/media/sheet1.bin"), "file_corrupt"),
        (lambda base: long_shared_string(base, 60 * 1024 * 1024, 60), "file_too_large"),
        (lambda base: wide_row(base, 20_000_000), "file_too_large"),
    ],
    ids=["sheet-in-media", "long-shared-string", "wide-row"],
)
def test_hostile_files_are_refused_through_the_sandbox(roster, build, code):
    reset = reset_peak()
    before = own_peak_mb()
    with pytest.raises(RosterFileError) as caught:
        check(build(roster), sandbox=SMALL)
    assert caught.value.finding.code == code
    if reset:
        assert own_peak_mb() - before < 300


def check(source, **kwargs):
    return check_roster(
        source,
        rules=plan_rules(),
        plan_code="jilin-allowance-2020",
        coverage_start=COVERAGE_START,
        today=TODAY,
        **kwargs,
    )


def vars_of(row) -> tuple:
    return tuple(getattr(row, name) for name in row.__slots__)

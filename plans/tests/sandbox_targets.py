"""Functions the sandbox tests run in a limited child process (``module:function`` targets).

Each misbehaves in one way a hostile file can make a reader misbehave."""

from __future__ import annotations

import datetime
import os
import time


def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


def dates():
    return [datetime.date(2026, 1, 2), datetime.datetime(2026, 1, 2, 3, 4), datetime.time(5, 6)]


def allocate(megabytes: int) -> int:
    """Python memory: bytearrays of 16 MB each, kept, up to ``megabytes``."""
    kept = [bytearray(16 * 1024 * 1024) for _ in range(megabytes // 16)]
    return len(kept)


def spin(seconds: int) -> int:
    """CPU time, not sleep."""
    deadline = time.process_time() + seconds
    count = 0
    while time.process_time() < deadline:
        count += 1
    return count


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def abort() -> None:
    os.abort()


def panic() -> None:
    """An exception that is not an ``Exception``, as a Rust panic in python-calamine is."""

    class PanicException(BaseException):
        pass

    raise PanicException("explicit panic")


def not_plain():
    """An answer the parent must not unpickle: a class that is not a plain value."""
    import decimal

    return decimal.Decimal("1.5")


def read_dense(data: bytes) -> int:
    """Read the workbook with calamine whatever the inspection would say: what the reader did
    before every part was scanned, or would do if a scan missed something."""
    from plans.engine.roster import open_table
    from plans.engine.roster_reader import Package

    table = open_table(data, Package(dense_safe=True))
    try:
        return sum(1 for _ in table.rows)
    finally:
        table.close()


def peak_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

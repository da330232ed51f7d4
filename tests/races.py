"""Shared by the concurrency tests: run actions at the same instant, on PostgreSQL only.

SQLite has no row locks and serialises every writer, so these races mean nothing there; the
tests skip themselves on SQLite and run in CI's PostgreSQL leg."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races need PostgreSQL (run with DATABASE_URL=postgres://...)")


def race(*actions, seconds: float = 60):
    """Start every action at the same instant in its own thread and connection."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            results[index] = action()
        except Exception as exc:  # each outcome is inspected by the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds)
    return results

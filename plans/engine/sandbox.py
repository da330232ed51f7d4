"""Running work on untrusted input in a child process that cannot hurt its parent.

A spreadsheet reader given a hostile file can abort the whole process (a Rust allocation
failure calls ``abort()``), raise a panic that is not an ``Exception``, or take all the
machine's memory. Run in a worker, that ends the worker; with late acknowledgement the message
comes back and ends the next one too. So the reading is done by :func:`run_limited` in a fresh
Python interpreter (not a fork: the worker has threads and open connections) whose address
space and CPU time are limited by ``resource.setrlimit``, and whose end, however it comes,
is reported as a value or a :class:`SandboxFailure`:

* ``memory``: the child ran out of its address space (``MemoryError``, a Rust allocation
  failure, or the kernel killing it);
* ``time``: it used up its CPU seconds, or did not finish within the wall-clock limit;
* ``crash``: anything else (a panic, a signal, an exception the work did not expect).

The child gets only what it needs: the Python path and a few locale variables, no secrets from
the environment. Its answer comes back as a pickle that may only contain plain values and dates
(a restricted unpickler), so even a child taken over by a hostile file cannot make its parent
run anything. If the parent dies, the child is killed with it (Linux ``PR_SET_PDEATHSIG``).

No Django here.
"""

from __future__ import annotations

import datetime
import io
import logging
import os
import pickle
import signal
import subprocess
import sys
from dataclasses import dataclass

log = logging.getLogger(__name__)

MEMORY = "memory"
TIME = "time"
CRASH = "crash"

# What a child's answer may be built of besides the plain types pickle needs no class for.
_ALLOWED = {
    ("datetime", "date"): datetime.date,
    ("datetime", "datetime"): datetime.datetime,
    ("datetime", "time"): datetime.time,
    ("datetime", "timedelta"): datetime.timedelta,
    ("datetime", "timezone"): datetime.timezone,
}
# Environment variables the child keeps; everything else (keys, database addresses) stays out.
_KEPT_ENVIRONMENT = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "HOME")
_STDERR_LOGGED = 2000

# The child's first lines: read the request, put the parent's import path in place, hand over.
_BOOT = (
    "import pickle, sys\n"
    "request = pickle.load(sys.stdin.buffer)\n"
    "sys.path[:0] = request['path']\n"
    "from plans.engine.sandbox import _child\n"
    "_child(request)\n"
)


@dataclass(frozen=True)
class Limits:
    """What the child may use. ``memory_mb`` is address space above what the child uses once
    its modules are imported; ``cpu_seconds`` is CPU time; ``wall_seconds`` is the parent's
    patience, for a child that sleeps or waits instead of computing."""

    memory_mb: int = 1024
    cpu_seconds: int = 120
    wall_seconds: int = 185


class SandboxFailure(Exception):
    """The child did not give an answer: ``kind`` is MEMORY, TIME or CRASH; ``detail`` is for
    the log (an exception's type, a signal's name), never for users."""

    def __init__(self, kind: str, detail: str = ""):
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}" if detail else kind)


def run_limited(
    target: str, *args: object, limits: Limits, preload: tuple[str, ...] = (), **kwargs: object
) -> object:
    """Call ``target`` ("package.module:function") with the arguments in a limited child
    process and return what it returns; raise SandboxFailure when it does not return.
    The modules in ``preload`` are imported before the limits apply.

    Arguments go to the child as a pickle (the parent is trusted); the answer may hold only
    plain values (None, bool, int, float, str, bytes, tuples, lists, dicts, sets) and dates.
    An exception the target raises is a CRASH: a target that has expected failures to report
    returns them as values."""
    request = {
        "path": [entry or os.getcwd() for entry in sys.path if isinstance(entry, str)],
        "target": target,
        "preload": preload,
        "args": args,
        "kwargs": kwargs,
        "memory": limits.memory_mb * 1024 * 1024,
        "cpu": limits.cpu_seconds,
        "parent": os.getpid(),
    }
    environment = {key: os.environ[key] for key in _KEPT_ENVIRONMENT if key in os.environ}
    environment.update({"PYTHONDONTWRITEBYTECODE": "1", "RUST_BACKTRACE": "0"})
    child = subprocess.Popen(  # noqa: S603 - our own interpreter running our own module
        [sys.executable, "-c", _BOOT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        close_fds=True,
    )
    killed = False
    try:
        output, errors = child.communicate(
            pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL), timeout=limits.wall_seconds
        )
    except subprocess.TimeoutExpired:
        child.kill()
        output, errors = child.communicate()
        killed = True
    except BaseException:
        child.kill()
        child.wait()
        raise
    return _answer(target, child.returncode, output, errors, killed=killed)


def _answer(target: str, status: int, output: bytes, errors: bytes, *, killed: bool) -> object:
    if killed:
        raise _failure(target, TIME, "wall-clock limit", errors)
    if status < 0:
        number = -status
        name = _signal_name(number)
        if number == signal.SIGXCPU:
            raise _failure(target, TIME, name, errors)
        if number == signal.SIGKILL or b"memory allocation of" in errors:
            # SIGKILL we did not send is the kernel's out-of-memory killer.
            raise _failure(target, MEMORY, name, errors)
        raise _failure(target, CRASH, name, errors)
    if status != 0:
        raise _failure(target, CRASH, f"exit status {status}", errors)
    try:
        kind, value = _SafeUnpickler(io.BytesIO(output)).load()
    except Exception as exc:  # noqa: BLE001 - anything unreadable is a crash of the child
        raise _failure(target, CRASH, f"unreadable answer ({type(exc).__name__})", errors) from None
    if kind == "ok":
        return value
    if kind in (MEMORY, TIME, CRASH):
        raise _failure(target, kind, str(value)[:200], errors)
    raise _failure(target, CRASH, "unknown answer", errors)


def _failure(target: str, kind: str, detail: str, errors: bytes) -> SandboxFailure:
    tail = errors[-_STDERR_LOGGED:].decode("utf-8", "replace").strip()
    log.warning("Sandboxed %s stopped (%s: %s). %s", target, kind, detail, tail)
    return SandboxFailure(kind, detail)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed")
        return allowed


# --- the child ------------------------------------------------------------------------------


def _child(request: dict) -> None:
    """Set the limits, run the target, write ``(kind, value)`` to stdout, exit at once."""
    import importlib
    import resource

    _die_with_parent(request["parent"])
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = int(request["cpu"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    module_name, _, function_name = request["target"].partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    for name in request["preload"]:
        importlib.import_module(name)
    # The budget counts from here: the interpreter, its modules and the input are not the
    # work's. Where the size cannot be read (not Linux), there is no memory limit.
    start = _address_space()
    if start:
        ceiling = start + int(request["memory"])
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    try:
        answer = ("ok", function(*request["args"], **request["kwargs"]))
    except MemoryError:
        answer = (MEMORY, "MemoryError")
    except BaseException as exc:  # noqa: BLE001 - a panic is not an Exception; all are reported
        answer = (CRASH, type(exc).__name__)
    del request
    try:
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        data = pickle.dumps((MEMORY, "MemoryError while answering"))
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    # No clean-up: freeing what the work built only costs time, and the answer is out.
    os._exit(0)


def _address_space() -> int:
    """This process's virtual memory size in bytes (VmSize)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _die_with_parent(parent: int) -> None:
    """On Linux, be killed when the parent dies, so no orphan keeps reading."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the line above took effect

"""The OS limits on a check's child, and how a limit that was hit is worded for the learner.

The worker (the process that runs learner code) sets them on itself right before the
learner's file runs; they are inherited by whatever it spawns. The parent never trusts the
worker to report a limit: it reads the output file's size itself and gets the worker's end
(signal, CPU time) from the guard process (see guard.py).

Only the standard library here: the parent imports this on every check.
"""

from __future__ import annotations

import math
import os
import signal

MEMORY_LIMIT = 1024**3  # address space; checking a reference solution peaks near 90 MiB
OUTPUT_LIMIT = 8 * 1024**2  # bytes of stdout+stderr kept on disk; the report shows 64 KiB of it
CPU_GRACE = 1  # seconds of CPU beyond --timeout: the wall-clock timeout normally fires first
EXTRA_PROCESSES = 256  # for a non-root user: processes learner code may add (fork bombs stall)


def apply(timeout: float) -> int:
    """Limit this process (and what it spawns) before learner code runs. Returns the CPU
    seconds allowed, for the guard to tell a CPU-limit kill from another one."""
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(used.ru_utime + used.ru_stime + timeout) + CPU_GRACE
    # SIGXCPU at the soft limit, SIGKILL one second later if SIGXCPU is ignored.
    _lower(resource.RLIMIT_CPU, cpu, cpu + 1)
    _lower(resource.RLIMIT_AS, MEMORY_LIMIT, MEMORY_LIMIT)
    _lower(resource.RLIMIT_FSIZE, OUTPUT_LIMIT, OUTPUT_LIMIT)
    _lower(resource.RLIMIT_CORE, 0, 0)  # SIGXCPU and crashes must not leave core files
    if os.geteuid() != 0:
        # RLIMIT_NPROC counts all of the user's processes, and root is exempt from it; the
        # system-wide task count is cheap to read and never below the user's own count.
        _lower(resource.RLIMIT_NPROC, _tasks() + EXTRA_PROCESSES, None)
    # Past RLIMIT_FSIZE a write fails with EFBIG instead of killing the process; an ignored
    # signal stays ignored across exec, so the learner's subprocesses get the same.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return cpu


def _lower(which: int, soft: int, hard: int | None) -> None:
    """Set a limit, never raising one the user already lowered (nor failing on odd systems)."""
    import resource

    try:
        old_soft, old_hard = resource.getrlimit(which)
        cap = lambda value, old: value if old == resource.RLIM_INFINITY else min(value, old)  # noqa: E731
        new_hard = old_hard if hard is None else cap(hard, old_hard)
        resource.setrlimit(which, (min(cap(soft, old_soft), new_hard), new_hard))
    except (OSError, ValueError):
        pass  # e.g. RLIMIT_AS on some platforms: the other limits and the timeout still hold


def _tasks() -> int:
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            return int(handle.read().split()[3].split("/")[1])
    except (OSError, ValueError, IndexError):
        return 4096


def describe_bytes(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


class LimitHit:
    """A limit that ended (or spoiled) the run: the failed check says which one.
    (A plain class: the worker imports this module on its start-up path.)"""

    def __init__(self, rationale: str, actual: str, help: str) -> None:
        self.rationale, self.actual, self.help = rationale, actual, help


def output_limit_hit(size: int) -> LimitHit:
    return LimitHit(
        f"your code hit the output limit: it wrote {describe_bytes(OUTPUT_LIMIT)} to "
        "stdout/stderr, the most a check accepts",
        actual=f"{describe_bytes(size)} of output before further writes were refused",
        help="print less: a summary or the first few items instead of everything",
    )


def cpu_limit_hit(seconds: float) -> LimitHit:
    return LimitHit(
        f"your code hit the CPU time limit: it used {seconds:.1f} seconds of CPU time and was stopped",
        actual="stopped by the CPU time limit (--timeout plus a second)",
        help="look for a loop that never ends, or heavy work in several threads; "
        "`--timeout` gives slow code more time",
    )


def memory_limit_hit(detail: str | None) -> LimitHit:
    return LimitHit(
        f"your code hit the memory limit: it tried to use more than {describe_bytes(MEMORY_LIMIT)}",
        actual=detail or "MemoryError",
        help="look for a list or string that keeps growing, or a huge allocation",
    )


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"

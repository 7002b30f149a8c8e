"""drillkit's performance figures, each measured against its floor on this machine, in one run.

    python benchmarks/run.py                 # the table; exit 1 when a figure misses its target
    python benchmarks/run.py --with-tests    # also time the test suite (a minute or two)

Everything runs in a throwaway DRILL_HOME with its own embedded server, which is stopped at
the end. Measured and floor commands are interleaved (floor, measured, floor, ...) so load
from other processes on the machine hits both alike; each figure is a median. This is not a
test: pytest never collects it (it lives outside `tests/`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SCRIPT = Path(PYTHON).parent / "drill"
DRILL = [str(SCRIPT)] if SCRIPT.exists() else [PYTHON, "-m", "drillkit"]
SOLUTIONS = REPO / "solutions" / "sqlalchemy"  # the built-in pack's reference solutions
PRACTICE = REPO / "solutions" / "practice"  # the second built-in pack's
RESULT_LINE = re.compile(r"checks passed")


@dataclass
class Row:
    name: str
    value: str
    floor: str
    ratio: str
    target: str
    ok: bool | None  # None: not measured


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None, expect: int | None = 0) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - start
    if expect is not None and proc.returncode != expect:
        raise SystemExit(
            f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stdout.decode()}{proc.stderr.decode()}"
        )
    return elapsed


def interleaved(
    floor: Callable[[], float], measured: Callable[[], float], repeat: int
) -> tuple[float, float]:
    floor(), measured()  # warm the page cache and the server
    floors, values = [], []
    for _ in range(repeat):
        floors.append(floor())
        values.append(measured())
    return median_ms(floors), median_ms(values)


class Bench:
    def __init__(self, home: Path, repeat: int) -> None:
        self.home = home
        self.repeat = repeat
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}
        # Bytecode caching on, as for an installed drillkit (pip compiles it at install time).
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env.update(
            DRILL_HOME=str(home),
            DRILL_PROGRESS=str(home / "progress.json"),
            DRILL_WORKSPACE=str(home / "drillwork"),
            COLUMNS="100",
            NO_COLOR="1",
        )
        self.rows: list[Row] = []
        self.extra: list[str] = []
        self.warm_check_ms: float | None = None
        self.check_floor_ms: float | None = None

    def drill(self, *args: str, expect: int | None = 0) -> float:
        return timed([*DRILL, *args], self.env, cwd=self.home, expect=expect)

    def sqlalchemy_url(self) -> str:
        sys.path.insert(0, str(REPO))
        from drillkit.db import server as database
        from drillkit.paths import resolve_paths

        return database.resolve(resolve_paths(env=self.env)).sqlalchemy_url

    def add(self, name: str, value_ms: float, floor_ms: float, limit_ms: float, target: str) -> None:
        self.rows.append(
            Row(
                name,
                f"{value_ms:.0f} ms",
                f"{floor_ms:.0f} ms",
                f"{value_ms / floor_ms:.2f}×",
                target,
                value_ms <= limit_ms,
            )
        )

    # -- the figures ---------------------------------------------------------------------------

    def list_vs_imports(self) -> None:
        floor_ms, value_ms = interleaved(
            lambda: timed([PYTHON, "-c", "import typer, rich"], self.env),
            lambda: self.drill("list"),
            self.repeat,
        )
        self.add("drill list", value_ms, floor_ms, 1.3 * floor_ms, "≤ 1.3× import typer, rich")

    def warm_check(self) -> None:
        url = self.sqlalchemy_url()
        probe = (
            "import sqlalchemy, psycopg\n"
            f"engine = sqlalchemy.create_engine({url!r})\n"
            "with engine.connect() as c: c.execute(sqlalchemy.text('SELECT 1'))\n"
        )
        floor_ms, value_ms = interleaved(
            lambda: timed([PYTHON, "-c", probe], self.env),
            lambda: self.drill("check", "3", "--file", str(SOLUTIONS / "select.py")),
            self.repeat,
        )
        self.warm_check_ms, self.check_floor_ms = value_ms, floor_ms
        self.add("warm drill check 3", value_ms, floor_ms, 2.0 * floor_ms, "≤ 2.0× python+SA+connect")

    def warm_check_practice(self) -> None:
        """A drill of the second pack, addressed as PACK:SLUG: one GROUP BY query, run twice
        by its checks (before and after the data grows), against the same floor."""
        assert self.check_floor_ms is not None
        url = self.sqlalchemy_url()
        probe = (
            "import sqlalchemy, psycopg\n"
            f"engine = sqlalchemy.create_engine({url!r})\n"
            "with engine.connect() as c: c.execute(sqlalchemy.text('SELECT 1'))\n"
        )
        floor_ms, value_ms = interleaved(
            lambda: timed([PYTHON, "-c", probe], self.env),
            lambda: self.drill("check", "practice:counts", "--file", str(PRACTICE / "counts.py")),
            self.repeat,
        )
        self.add(
            "warm drill check practice:counts", value_ms, floor_ms, 2.0 * floor_ms, "≤ 2.0× python+SA+connect"
        )

    def cold_check(self) -> None:
        assert self.check_floor_ms is not None
        samples = []
        for _ in range(max(3, self.repeat // 2)):
            self.drill("db", "stop")
            samples.append(self.drill("check", "3", "--file", str(SOLUTIONS / "select.py")))
        value_ms = median_ms(samples)
        floor_ms = self.check_floor_ms
        self.rows.append(
            Row(
                "cold drill check 3",
                f"{value_ms:.0f} ms",
                f"{floor_ms:.0f} ms",
                f"+{(value_ms - floor_ms) / 1000:.2f} s",
                "≤ floor + 1.5 s",
                value_ms <= floor_ms + 1500,
            )
        )
        running = subprocess.run([*DRILL, "db", "status"], env=self.env, capture_output=True, text=True)
        if "running" not in running.stdout:
            self.extra.append("cold check: the server did NOT stay up after the check")
            self.rows[-1].ok = False

    def watch(self) -> None:
        assert self.warm_check_ms is not None
        name, target = "drill watch: save → result", "≤ warm check + 100 ms"
        probe = subprocess.run([*DRILL, "watch", "--help"], env=self.env, capture_output=True)
        if probe.returncode != 0:
            self.rows.append(Row(name, "n/a: drill watch not available", "", "", target, None))
            return
        workspace = self.home / "drillwork"
        self.drill("start", "3")
        attempt = workspace / "sqlalchemy" / "03_select.py"
        solution = (SOLUTIONS / "select.py").read_text(encoding="utf-8")
        attempt.write_text(solution, encoding="utf-8")
        proc = subprocess.Popen(
            [*DRILL, "watch", "3"],
            env={**self.env, "PYTHONUNBUFFERED": "1"},
            cwd=self.home,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        results = 0
        seen = threading.Condition()

        def reader() -> None:
            nonlocal results
            assert proc.stdout is not None
            for line in proc.stdout:
                if RESULT_LINE.search(line):
                    with seen:
                        results += 1
                        seen.notify_all()

        threading.Thread(target=reader, daemon=True).start()

        def wait_for(count: int, timeout: float) -> bool:
            with seen:
                return seen.wait_for(lambda: results >= count, timeout)

        samples = []
        try:
            wait_for(1, 15)  # an initial run, if watch does one
            time.sleep(0.5)
            for i in range(self.repeat):
                before = results
                start = time.perf_counter()
                attempt.write_text(f"{solution}\n# edit {i}\n", encoding="utf-8")
                if not wait_for(before + 1, 15):
                    self.rows.append(Row(name, "no result within 15 s", "", "", target, False))
                    return
                samples.append(time.perf_counter() - start)
                time.sleep(0.3)  # let a debounce window close before the next save
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        value_ms = median_ms(samples)
        self.rows.append(
            Row(
                name,
                f"{value_ms:.0f} ms",
                f"{self.warm_check_ms:.0f} ms",
                f"+{value_ms - self.warm_check_ms:.0f} ms",
                target,
                value_ms <= self.warm_check_ms + 100,
            )
        )

    def classroom(self, checks: int = 40, workers: int = 8) -> None:
        sys.path.insert(0, str(REPO))
        from drillkit.pack.catalog import builtin_sources, load_source
        from drillkit.pack.text import starter_text

        files = self.home / "classroom"
        files.mkdir(exist_ok=True)
        jobs: list[tuple[int, Path, int]] = []
        drills = load_source(builtin_sources()[0], None).drills
        for i in range(checks):
            drill = drills[i % len(drills)]
            if (i // len(drills)) % 2 == 0:
                jobs.append((drill.number, drill.solution_path, 0))
            else:
                starter = files / drill.filename
                starter.write_text(starter_text(drill), encoding="utf-8")
                jobs.append((drill.number, starter, 1))

        sampler = PeakSampler(self.home / "pgdata")
        errors: list[str] = []

        def one(job: tuple[int, Path, int]) -> float:
            number, path, expected = job
            start = time.perf_counter()
            proc = subprocess.Popen(
                [*DRILL, "check", str(number), "--file", str(path), "--json"],
                env=self.env,
                cwd=self.home,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
            )
            sampler.watch(proc.pid)
            _out, err = proc.communicate()
            elapsed = time.perf_counter() - start
            if proc.returncode != expected:
                errors.append(f"drill {number} {path.name}: exit {proc.returncode}: {err.decode()[-300:]}")
            return elapsed

        with sampler:
            start = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                latencies = sorted(pool.map(one, jobs))
            wall = time.perf_counter() - start

        leftovers = self.leftover_schemas()
        p50 = median_ms(latencies)
        p95 = latencies[min(len(latencies) - 1, round(0.95 * len(latencies)) - 1)] * 1000
        ok = not errors and not leftovers
        self.rows.append(
            Row(
                f"classroom: {checks} checks, {workers} processes",
                f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, {checks / wall:.1f} checks/s",
                "",
                "",
                "0 errors, 0 leftover schemas",
                ok,
            )
        )
        self.extra.append(
            f"classroom: {len(errors)} errors, {len(leftovers)} leftover schemas, wall {wall:.1f} s; "
            f"peak RSS: CLI {sampler.cli_peak_kb / 1024:.0f} MB, checker child "
            f"{sampler.child_peak_kb / 1024:.0f} MB, Postgres (all processes, PSS) "
            f"{sampler.pg_peak_kb / 1024:.0f} MB"
        )
        self.extra += errors[:5]

    def leftover_schemas(self) -> list[str]:
        from drillkit.db import server as database
        from drillkit.paths import resolve_paths
        from drillkit.run.space import connect, list_run_schemas

        with connect(database.resolve(resolve_paths(env=self.env))) as conn:
            return list_run_schemas(conn)

    def test_suite(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}
        start = time.perf_counter()
        proc = subprocess.run(
            [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        summary = (proc.stdout.strip().splitlines() or ["no output"])[-1]
        self.extra.append(f"test suite: {seconds:.0f} s wall ({summary})")


class PeakSampler:
    """Polls /proc every 20 ms: peak RSS (VmHWM) of CLI processes and their children, Postgres PSS."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.pids: set[int] = set()
        self.cli_peak_kb = self.child_peak_kb = self.pg_peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, pid: int) -> None:
        self.pids.add(pid)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for pid in list(self.pids):
                self.cli_peak_kb = max(self.cli_peak_kb, _status_kb(pid, "VmHWM"))
                for child in _children(pid):
                    self.child_peak_kb = max(self.child_peak_kb, _status_kb(child, "VmHWM"))
            postmaster = _postmaster(self.pgdata)
            if postmaster:
                total = sum(_pss_kb(p) for p in [postmaster, *_children(postmaster)])
                self.pg_peak_kb = max(self.pg_peak_kb, total)


def _status_kb(pid: int, field: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError, ValueError):
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def _postmaster(pgdata: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    return None


@contextlib.contextmanager
def throwaway_home() -> Iterator[Path]:
    # Not under a 0700 tmp dir: as root the embedded server runs as another user.
    home = Path(tempfile.mkdtemp(prefix="drillkit-bench-"))
    os.chmod(home, 0o755)
    try:
        yield home
    finally:
        subprocess.run(
            [*DRILL, "db", "stop"], env={**os.environ, "DRILL_HOME": str(home)}, capture_output=True
        )
        shutil.rmtree(home, ignore_errors=True)


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | measured | floor | ratio | target | ok |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        mark = "–" if r.ok is None else ("yes" if r.ok else "**NO**")
        lines.append(f"| {r.name} | {r.value} | {r.floor} | {r.ratio} | {r.target} | {mark} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="samples per figure (median)")
    parser.add_argument("--with-tests", action="store_true", help="also time the test suite, last")
    parser.add_argument("--skip-load", action="store_true", help="skip the classroom load figure")
    args = parser.parse_args()

    cpu = platform.processor() or platform.machine()
    print(
        f"drillkit benchmarks · {dt.date.today()} · {platform.node()} · {cpu}"
        f" · {os.cpu_count()} CPUs · Python {platform.python_version()} · {' '.join(DRILL[-2:])}",
        flush=True,
    )
    with throwaway_home() as home:
        bench = Bench(home, args.repeat)
        bench.drill("check", "3", "--file", str(SOLUTIONS / "select.py"))  # initdb + first start
        steps = [
            bench.list_vs_imports,
            bench.warm_check,
            bench.warm_check_practice,
            bench.cold_check,
            bench.watch,
        ]
        if not args.skip_load:
            steps.append(bench.classroom)
        for step in steps:
            print(f"… {step.__name__}", file=sys.stderr, flush=True)
            step()
    print(table(bench.rows))
    if args.with_tests:
        print("… test suite", file=sys.stderr, flush=True)
        bench.test_suite()
    for line in bench.extra:
        print(f"- {line}")
    failed = [r.name for r in bench.rows if r.ok is False]
    if failed:
        print(f"\nmissed target: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

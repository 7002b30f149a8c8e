"""The idle watchdog's logic, driven by a fake clock: nothing here waits in real time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drillkit.db import idle
from drillkit.errors import ConfigError


class World:
    """A server, a last-use time and a clock that only moves when the watchdog sleeps."""

    def __init__(self, idle_seconds: float) -> None:
        self.now = 1_000_000.0
        self.last_used = self.now
        self.running = True
        self.busy = False
        self.stopped_at: float | None = None
        self.stopped_while_busy = False
        self.sleeps: list[float] = []
        self.on_sleep: list = []  # callbacks (at_time, action) to simulate checks
        self.idle = idle_seconds

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds
        for when, action in list(self.on_sleep):
            if self.now >= when:
                action()
                self.on_sleep.remove((when, action))

    def stop(self) -> None:
        self.stopped_at = self.now
        self.stopped_while_busy = self.busy
        self.running = False

    def try_exclusive(self):
        return None if self.busy else idle.AbstractLock()

    def run(self) -> str:
        return idle.watch(
            self.idle,
            last_used=lambda: self.last_used,
            server_running=lambda: self.running,
            stop_server=self.stop,
            try_exclusive=self.try_exclusive,
            clock=lambda: self.now,
            sleep=self.sleep,
        )


def test_stops_the_server_once_the_idle_period_has_passed() -> None:
    world = World(idle_seconds=30 * 60)
    assert world.run() == "stopped after idle period"
    assert world.stopped_at == pytest.approx(world.last_used + 30 * 60)
    assert max(world.sleeps) <= idle.POLL_SECONDS  # it keeps looking at the server meanwhile


def test_a_check_postpones_the_stop() -> None:
    world = World(idle_seconds=600)
    start = world.now

    def check() -> None:
        world.last_used = world.now

    world.on_sleep.append((start + 500, check))
    world.run()
    assert world.stopped_at is not None
    assert world.stopped_at >= start + 500 + 600


def test_a_running_check_is_never_interrupted() -> None:
    world = World(idle_seconds=60)
    start = world.now
    world.busy = True  # a check holds the in-use lock long past the deadline

    def check_ends() -> None:
        world.busy = False
        world.last_used = world.now

    world.on_sleep.append((start + 200, check_ends))
    world.run()
    assert world.stopped_at is not None and not world.stopped_while_busy
    assert world.stopped_at >= start + 200 + 60  # the idle period counts from the check's end
    assert world.sleeps.count(idle.BUSY_RETRY_SECONDS) >= 2  # it kept asking while the check ran


def test_the_watchdog_never_stops_the_server_under_a_held_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real watchdog (`main`: its real lock file and flock) against a check really holding
    the in-use lock: the server is stopped only once that lock is released."""
    import contextlib
    import time

    from drillkit.db import server as database
    from drillkit.paths import resolve_paths

    home = tmp_path / "home"
    paths = resolve_paths(env={"DRILL_HOME": str(home)})
    period = 60.0
    check = contextlib.ExitStack()
    check.enter_context(idle.in_use(paths.locks))  # a check is running: shared lock held
    usage = idle.in_use_file(paths.locks)
    start = time.time()
    now = [start]
    released: list[float] = []
    stops: list[tuple[float, bool]] = []  # (when, was the check's lock still held)

    def check_ends() -> None:
        check.close()
        os.utime(usage, (now[0], now[0]))  # as the check's own exit does, on the fake clock
        released.append(now[0])

    def sleep(seconds: float) -> None:
        assert seconds > 0
        now[0] += seconds
        if not released and now[0] >= start + 20 * period:
            check_ends()

    def stop(_paths: object) -> bool:
        stops.append((now[0], not released))
        return True

    running = database.EmbeddedStatus(paths.pgdata, True, 4242)
    stopped = database.EmbeddedStatus(paths.pgdata, True, None)
    monkeypatch.setattr(database, "embedded_status", lambda _p: stopped if stops else running)
    monkeypatch.setattr(database, "stop_embedded", stop)
    real_watch = idle.watch
    outcome: list[str] = []

    def fake_time_watch(seconds: float, **world: object) -> str:
        assert seconds == period
        outcome.append(real_watch(seconds, **world, clock=lambda: now[0], sleep=sleep))  # type: ignore[arg-type]
        return outcome[-1]

    monkeypatch.setattr(idle, "watch", fake_time_watch)
    try:
        assert idle.main([str(home), repr(period)]) == 0
    finally:
        check.close()
    assert outcome == ["stopped after idle period"]
    assert released, "the watchdog stopped before the check released its lock"
    assert len(stops) == 1
    (when, under_check), release = stops[0], released[0]
    assert not under_check
    assert when >= release + period


def test_exits_when_the_server_is_stopped_by_hand() -> None:
    world = World(idle_seconds=3600)

    def db_stop() -> None:
        world.running = False

    world.on_sleep.append((world.now + 90, db_stop))
    assert world.run() == "server not running"
    assert world.stopped_at is None
    assert world.now < 1_000_000.0 + 3600


@pytest.mark.parametrize(
    ("now", "running", "expected"),
    [
        (100.0, True, ("sleep", 60.0)),
        (1000.0, True, ("sleep", 10.0)),
        (1010.0, True, ("stop", 0.0)),
        (5000.0, True, ("stop", 0.0)),
        (100.0, False, ("exit", 0.0)),
    ],
)
def test_next_action(now: float, running: bool, expected: tuple) -> None:
    assert idle.next_action(now, last_used=10.0, idle=1000.0, server_running=running) == expected


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("", 30 * 60.0), ("5", 300.0), ("0.5", 30.0), ("0", None), (" 2 ", 120.0)],
)
def test_idle_period_from_env(value: str, seconds: float | None) -> None:
    assert idle.idle_seconds({idle.IDLE_ENV: value}) == seconds


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_bad_idle_period_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match=idle.IDLE_ENV):
        idle.idle_seconds({idle.IDLE_ENV: value})


def test_a_check_in_progress_holds_off_the_watchdog(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    with idle.in_use(locks):
        assert idle._try_flock(idle.in_use_file(locks)) is None
    lock = idle._try_flock(idle.in_use_file(locks))
    assert lock is not None
    with lock:
        pass


def test_no_watchdog_when_disabled(tmp_path: Path) -> None:
    assert idle.ensure_watchdog(tmp_path / "locks", env={idle.IDLE_ENV: "0"}) is False
    assert idle.stop_watchdog(tmp_path / "locks") is False

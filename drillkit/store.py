"""Files drillkit reads and writes, handled so that no file can hang, crash or flood it.

Two jobs that share one careful reader:

- `read_regular` and `read_learner_file`: read a file someone else controls (a learner's
  drill file, a progress file that may have been replaced by anything). Opened without
  blocking (a FIFO must not hang us), refused unless it is a regular file (/dev/zero must
  not fill memory), and read only up to a size bound.
- `VersionedFile`: a small versioned JSON document kept on disk (the progress file; a pack
  registry later). Read with that reader, checked against a declared schema (the `Spec`
  helpers below), migrated forward, written atomically under a lock, never leaving temp
  files. A document that fails any of that is moved aside, never deleted, and reported
  once; if it cannot be moved aside, that is said in one line and nothing is written.

Only the standard library: the checker child imports this module to read the learner's file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import stat
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import MISSING, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, NamedTuple, TypeVar

from drillkit import clock
from drillkit.errors import DrillkitError, LearnerFileError

LEARNER_FILE_LIMIT = 1 << 20  # 1 MiB: a drill file is a few dozen lines
DOCUMENT_LIMIT = 4 << 20  # a progress document is kilobytes; megabytes of it are not ours
LOCK_TIMEOUT = 30.0
SHOWN_PATH_LIMIT = 160  # longer paths are shortened in messages: an error stays one readable line


# --- reading a file someone else controls ------------------------------------------------


class FileRefused(Exception):
    """A file we will not read as data: not a regular file, or larger than the bound."""


class NotRegularFile(FileRefused):
    def __init__(self, kind: str) -> None:
        super().__init__(f"is a {kind}, not a regular file")
        self.kind = kind


class TooLarge(FileRefused):
    def __init__(self, limit: int) -> None:
        super().__init__(f"is larger than {_size(limit)}")
        self.limit = limit


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Raises FileNotFoundError, NotRegularFile, TooLarge, or another OSError (permission
    denied, a name too long, an I/O error such as /proc/self/mem gives).
    """
    # O_NONBLOCK: opening a FIFO without a writer (or a device) returns at once instead of
    # waiting forever; for a regular file it changes nothing.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)  # of what we opened, not of what the name points to by now
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(_kind(info.st_mode))
        if info.st_size > limit:
            raise TooLarge(limit)
        # Read to EOF, but never past the bound: /proc files claim size 0, files grow.
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise TooLarge(limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def shown(path: Path | str) -> str:
    """A path as one printable line: escapes for undecodable bytes and control characters,
    and the middle of a very long path cut out."""
    text = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(path)
    )
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    if len(text) > SHOWN_PATH_LIMIT:
        half = SHOWN_PATH_LIMIT // 2
        text = f"{text[:half]}…{text[-half:]}"
    return text


def read_learner_file(path: Path) -> bytes:
    """The learner's drill file; a LearnerFileError (one line, exit 2) for anything that is
    not a readable regular file of at most LEARNER_FILE_LIMIT bytes.

    Every reader of a learner file goes through here, in the CLI and in the checker child.
    """
    try:
        return read_regular(path, LEARNER_FILE_LIMIT)
    except FileNotFoundError:
        raise LearnerFileError(f"no such file: {shown(path)}") from None
    except NotRegularFile as exc:
        if exc.kind == "directory":
            raise LearnerFileError(f"{shown(path)} is a directory, not a Python file") from None
        raise LearnerFileError(f"{shown(path)} {exc}; check a .py file saved on disk") from None
    except TooLarge as exc:
        raise LearnerFileError(f"{shown(path)} {exc}; a drill file is a few dozen lines") from None
    except OSError as exc:
        raise LearnerFileError(f"cannot read {shown(path)}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


PACK_FILE_LIMIT = 8 << 20  # a pack's YAML, Python or SQL is kilobytes; a seed may be more


class Unreadable(Exception):
    """A text file that could not be read; the message says why after its name ("is a FIFO
    (named pipe), not a regular file", "does not exist", "cannot be read: Permission denied")."""


def read_text_file(path: Path, limit: int = PACK_FILE_LIMIT) -> str:
    """A pack's file as UTF-8 text. A FIFO put in its place would block a plain read
    forever, and a file of gigabytes would fill memory: both are refused, like any other
    reason the file cannot be read (Unreadable, its message the reason)."""
    try:
        return read_regular(path, limit).decode("utf-8")
    except FileRefused as exc:
        raise Unreadable(str(exc)) from None
    except FileNotFoundError:
        raise Unreadable("does not exist") from None
    except OSError as exc:
        raise Unreadable(f"cannot be read: {_reason(exc)}") from None
    except UnicodeDecodeError:
        raise Unreadable("is not UTF-8 text") from None


# --- a declared schema: what a JSON document must hold ------------------------------------


class Invalid(ValueError):
    """A document that does not match its schema; the message says where and what."""


Spec = Callable[[Any, str], Any]  # (JSON value, where in the document) -> checked value


def integer(minimum: int | None = None, maximum: int | None = None) -> Spec:
    def check(value: Any, where: str) -> int:
        if type(value) is not int:  # bool is an int to Python, not to us
            raise Invalid(f"{where} is not a whole number")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise Invalid(f"{where} is {value}, outside {minimum}..{maximum if maximum is not None else ''}")
        return value

    return check


def number(minimum: float | None = None, maximum: float | None = None) -> Spec:
    def check(value: Any, where: str) -> float:
        if type(value) not in (int, float) or not math.isfinite(value):
            raise Invalid(f"{where} is not a finite number")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise Invalid(f"{where} is {value}, outside {minimum}..{maximum if maximum is not None else ''}")
        return value

    return check


def boolean(value: Any, where: str) -> bool:
    if type(value) is not bool:
        raise Invalid(f"{where} is not true or false")
    return value


def text(max_length: int = 200) -> Spec:
    def check(value: Any, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise Invalid(f"{where} is not a non-empty string")
        if len(value) > max_length:
            raise Invalid(f"{where} is longer than {max_length} characters")
        return value

    return check


def one_of(*choices: Any) -> Spec:
    def check(value: Any, where: str) -> Any:
        if value not in choices or type(value) not in {type(c) for c in choices}:
            raise Invalid(f"{where} is {_brief(value)}, not one of {', '.join(map(repr, choices))}")
        return value

    return check


def timestamp(value: Any, where: str) -> str:
    """An ISO 8601 time clock.parse accepts; kept as the text it was."""
    try:
        clock.parse(value)
    except ValueError as exc:
        raise Invalid(f"{where} {_brief(value)} {exc}") from None
    return value


def optional(spec: Spec) -> Spec:
    def check(value: Any, where: str) -> Any:
        return None if value is None else spec(value, where)

    return check


def mapping(key: Spec, value: Spec) -> Spec:
    """A JSON object; `key` checks (and may convert) each key, `value` each value."""

    def check(data: Any, where: str) -> dict[Any, Any]:
        if not isinstance(data, dict):
            raise Invalid(f"{where} is not an object")
        return {key(k, f"a key of {where}"): value(v, f"{where}[{k!r}]") for k, v in data.items()}

    return check


def array(item: Spec, max_items: int = 1000) -> Spec:
    """A JSON list of at most `max_items`, each checked by `item`."""

    def check(data: Any, where: str) -> list[Any]:
        if not isinstance(data, list):
            raise Invalid(f"{where} is not a list")
        if len(data) > max_items:
            raise Invalid(f"{where} has {len(data)} items, at most {max_items} expected")
        return [item(v, f"{where}[{i}]") for i, v in enumerate(data)]

    return check


def obj(specs: Mapping[str, Spec], required: Collection[str] = ()) -> Spec:
    """A JSON object with these keys (a dict of the checked values); an unknown key is refused."""

    def check(data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise Invalid(f"{where} is not an object")
        unknown = set(data) - set(specs)
        if unknown:
            raise Invalid(f"{where} has unknown field {_brief(sorted(map(str, unknown))[0])}")
        missing = set(required) - set(data)
        if missing:
            raise Invalid(f"{where} lacks {sorted(missing)[0]!r}")
        return {name: spec(data[name], f"{where}.{name}") for name, spec in specs.items() if name in data}

    return check


def record(cls: type, specs: Mapping[str, Spec]) -> Spec:
    """A JSON object that becomes dataclass `cls`: one spec per field (the table must name
    every field, so a new field cannot go unchecked); a missing field takes its default."""
    declared = {f.name: f for f in fields(cls)}
    if set(specs) != set(declared):
        raise TypeError(f"the schema of {cls.__name__} must name exactly its fields {sorted(declared)}")
    required = [n for n, f in declared.items() if f.default is MISSING and f.default_factory is MISSING]
    check_fields = obj(specs, required)

    def check(data: Any, where: str) -> Any:
        return cls(**check_fields(data, where))

    return check


def _brief(value: Any) -> str:
    text_ = ascii(value)
    return text_ if len(text_) <= 40 else text_[:40] + "…"


# --- a versioned JSON document on disk ---------------------------------------------------

T = TypeVar("T")
Migration = Callable[[dict[str, Any]], dict[str, Any]]


class Corrupt(ValueError):
    """The file is there and readable but is not a document we can use: move it aside."""


# A NamedTuple, not a frozen dataclass: `drill list` imports it (see drillkit/pack/model.py).
class Loaded(NamedTuple, Generic[T]):
    """A versioned file's document as read, and what was wrong with the file if it was moved aside."""

    document: T | None  # None: there is no file yet
    warning: str | None = None


class VersionedFile(NamedTuple, Generic[T]):
    """A JSON document with a `"version"` field, its schema and its migrations.

    `build` turns a current-version document into the typed value (raising Invalid, or
    ValueError/TypeError, on anything else); `dump` turns it back. Problems with the place
    (not a regular file, no permission, a name too long) raise `error` (one line, exit 2);
    problems with the content move the file aside.
    """

    path: Path
    what: str  # how messages name it: "progress file"
    version: int
    build: Callable[[Any], T]
    dump: Callable[[T], dict[str, Any]]
    migrations: Mapping[int, Migration] = MappingProxyType({})
    error: type[DrillkitError] = DrillkitError
    elsewhere: str = ""  # how to use another file, for messages: "set DRILL_PROGRESS"
    limit: int = DOCUMENT_LIMIT

    # reading

    def load(self) -> Loaded[T]:
        """The document; a corrupt one is moved aside (under the lock) and reported."""
        try:
            return Loaded(self._read())
        except Corrupt as exc:
            why = exc
        # Judged again under the lock: another command may have fixed or moved it meanwhile.
        with self.locked(on_error=lambda error: self._cannot_move(why, error)):
            return self._load_locked()

    def problem(self) -> str | None:
        """What is wrong with the file, without touching it (for `drill doctor`)."""
        try:
            self._read()
        except Corrupt as exc:
            return f"{shown(self.path)}: {exc}"
        except DrillkitError as exc:
            return str(exc)
        return None

    def _load_locked(self) -> Loaded[T]:
        try:
            return Loaded(self._read())
        except Corrupt as exc:
            backup = self._move_aside(exc)
            return Loaded(
                None,
                warning=f"{self.what} {shown(self.path)} was unreadable ({exc}); it was moved to "
                f"{shown(backup)} and starts fresh",
            )

    def _read(self) -> T | None:
        try:
            raw = read_regular(self.path, self.limit)
        except FileNotFoundError:
            return None
        except TooLarge as exc:
            raise Corrupt(str(exc).removeprefix("is ")) from None
        except NotRegularFile as exc:
            raise self._fail(f"{self.what} {shown(self.path)} {exc}") from None
        except OSError as exc:
            raise self._fail(f"cannot read {self.what} {shown(self.path)}: {_reason(exc)}") from None
        return self._parse(raw)

    def _parse(self, raw: bytes) -> T:
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise Corrupt("not UTF-8 text") from None
        except RecursionError:
            raise Corrupt("nested too deeply") from None
        except ValueError as exc:
            raise Corrupt(f"not JSON: {exc}") from None
        version = data.get("version", 1) if isinstance(data, dict) else None
        if type(version) is int and version > self.version:
            raise self._fail(
                f"{self.what} {shown(self.path)} was written by a newer drillkit (schema {version}, "
                f"this one reads {self.version}); upgrade drillkit or {self.elsewhere}"
            )
        try:
            return self.build(self._migrate(data))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise Corrupt(str(exc) or type(exc).__name__) from None

    def _migrate(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise Invalid("the document is not an object")
        version = data.get("version", 1)  # files from before the field existed are version 1
        if type(version) is not int or not 1 <= version <= self.version:
            raise Invalid(f"unknown schema version {_brief(version)}")
        while version < self.version:
            data = self.migrations[version](data)
            version = data["version"]
        return data

    def _fail(self, message: str) -> DrillkitError:
        hint = f"; {self.elsewhere}" if self.elsewhere and self.elsewhere not in message else ""
        return self.error(message + hint)

    # writing

    def update(self, change: Callable[[T | None], T]) -> Loaded[T]:
        """Read, apply `change` (given None when there is no file yet, returning the new
        document) and write the result atomically, all under the lock."""
        with self.locked():
            loaded = self._load_locked()
            new = change(loaded.document)
            data = self.dump(new)
            try:  # refuse to write what we could not read back: a bug must not cost the file
                self.build(json.loads(json.dumps(data)))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise self.error(
                    f"refusing to write an invalid {self.what} ({exc}); nothing was changed"
                ) from None
            self._write(data)
            return Loaded(new, loaded.warning)

    def change(self, mutate: Callable[[T], None], empty: Callable[[], T]) -> Loaded[T]:
        """`update` for documents changed in place: `mutate` gets the document (a fresh
        `empty()` one when there is no file yet)."""

        def apply(current: T | None) -> T:
            document = current if current is not None else empty()
            mutate(document)
            return document

        return self.update(apply)

    @contextmanager
    def locked(self, on_error: Callable[[OSError], DrillkitError] | None = None) -> Iterator[None]:
        """An exclusive lock on `<file>.lock` (flock: released when the process dies)."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
            fd = os.open(lock_path, flags, 0o644)
        except OSError as exc:
            raise (on_error or self._lock_failed)(exc) from None
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise self.error(
                            f"{self.what} {shown(self.path)} stayed locked for {LOCK_TIMEOUT:g} s"
                        ) from None
                    time.sleep(0.02)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _lock_failed(self, exc: OSError) -> DrillkitError:
        """No lock, so no writing: say so, and say first if the file is unreadable too."""
        try:
            self._read()
        except Corrupt as why:
            return self._cannot_move(why, exc)
        except DrillkitError as error:
            return error
        return self._fail(f"cannot write {self.what} next to {shown(self.path)}: {_reason(exc)}")

    def _write(self, data: dict[str, Any]) -> None:
        import tempfile

        payload = (json.dumps(data, indent=2) + "\n").encode("utf-8")
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".", suffix=".tmp")
        except OSError as exc:
            raise self._fail(f"cannot write {self.what} {shown(self.path)}: {_reason(exc)}") from None
        try:
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:  # a full disk, Ctrl-C: the temp file must not stay behind
                with suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise self._fail(
                f"cannot write {self.what} {shown(self.path)}: {_reason(exc)}; it was left as it was"
            ) from None
        _sync_dir(self.path.parent)

    def _move_aside(self, why: Corrupt) -> Path:
        """Rename the unusable file to `<name>.corrupt-<time>`; never overwrites a backup."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        for n in range(1, 1000):
            backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}" + (f"-{n}" if n > 1 else ""))
            try:
                os.link(self.path, backup, follow_symlinks=False)  # fails if backup exists
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise self._cannot_move(why, exc) from None
                # No hard links here (some filesystems): rename, after checking the name is free.
                if os.path.lexists(backup):
                    continue
                try:
                    os.rename(self.path, backup)
                except OSError as exc2:
                    raise self._cannot_move(why, exc2) from None
                return backup
            try:
                os.unlink(self.path)
            except OSError as exc:
                with suppress(OSError):
                    os.unlink(backup)
                raise self._cannot_move(why, exc) from None
            return backup
        raise self._cannot_move(why, FileExistsError(errno.EEXIST, "too many backups"))

    def _cannot_move(self, why: Corrupt, exc: OSError) -> DrillkitError:
        return self.error(
            f"{self.what} {shown(self.path)} is unreadable ({why}) and could not be moved aside "
            f"({_reason(exc)}); move it away yourself, or {self.elsewhere}"
        )


def _sync_dir(folder: Path) -> None:
    """Make the rename itself durable; not all filesystems allow it, and that is fine."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

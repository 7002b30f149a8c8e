"""drillkit's test suite. Imported before conftest and every test module, hence this:

- Bytecode caching on, for this process and the hundreds it starts (CLIs, check servers,
  zygotes, checker children). Under PYTHONDONTWRITEBYTECODE, which some CI images set, each
  of them would compile drillkit's modules and the packs' checks from source again: in a
  fresh clone nothing is compiled yet.
- Temporary files in memory (`FAST_TEMP`), when /dev/shm is a RAM disk with room and no
  TMPDIR was chosen: the suite's homes, data dirs and run folders, for this process and all
  it starts. Every check creates and deletes a schema's relation files and a run folder; on
  this project's CI disk (ext4 mounted with `discard`) that file churn was an eighth of the
  suite's CPU (kernel time in inode allocation and block discards).
"""

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

ROOM_NEEDED = 2 * 1024**3  # a full run keeps well under 200 MB there at any one time


def _fast_temp() -> Path | None:
    """This run's folder in /dev/shm, made like /tmp (1777: the tests' other OS users make
    their folders there too); None when there is no RAM disk to use. The xdist workers and
    every process of the run inherit it through TMPDIR."""
    # Short on purpose: a Unix socket's path has a limit, and test homes nest deep.
    root = Path("/dev/shm") / f"dk{os.getuid()}"
    inherited = os.environ.get("TMPDIR")
    if inherited:  # the caller's choice, or the folder of the run that started us
        return Path(inherited) if Path(inherited).parent == root else None
    try:
        room = os.statvfs(root.parent)
        if room.f_bavail * room.f_frsize < ROOM_NEEDED:
            return None
        root.mkdir(mode=0o700, exist_ok=True)
        found = root.lstat()
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
            return None  # someone else's, or a link: not ours to use
        _sweep(root)
        run = root / f"run-{os.getpid()}"
        run.mkdir(mode=0o700)
        os.chmod(run, 0o1777)
    except OSError:
        return None
    return run


def _sweep(root: Path) -> None:
    """The folders of earlier runs that ended without removing theirs (a failed run keeps
    its folder for a look, until the next run): it is memory."""
    from drillkit.db.server import process_alive

    for old in root.glob("run-*"):
        pid = old.name.removeprefix("run-")
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


FAST_TEMP = _fast_temp()
if FAST_TEMP is not None:
    os.environ["TMPDIR"] = str(FAST_TEMP)
    tempfile.tempdir = str(FAST_TEMP)

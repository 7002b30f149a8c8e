"""Import a drill's `checks.py` from its pack folder, under a name of its own.

Each pack becomes a package `drillkit_packs.<id>` rooted at its folder, each drill a
subpackage, so a check module can share helpers with the pack's other drills through a
relative import (`from ..common import newest_first`) without clashing with another pack's.
"""

from __future__ import annotations

import importlib
import re
import sys
import threading
import types
from pathlib import Path

from drillkit.check.framework import Checks
from drillkit.errors import ConfigError

ROOT_PACKAGE = "drillkit_packs"
_NOT_NAME = re.compile(r"\W")  # compiled once, in the zygote, not in every fork


def package_name(pack_id: str) -> str:
    return ROOT_PACKAGE + "." + _NOT_NAME.sub("_", pack_id)


def _ensure_package(name: str, path: Path | None) -> None:
    if name in sys.modules:
        return
    module = types.ModuleType(name)
    module.__path__ = [str(path)] if path is not None else []  # a package: submodules import from here
    module.__package__ = name
    sys.modules[name] = module


_lock = threading.Lock()  # the check server loads checks from many threads
_loaded: dict[str, int] = {}  # module name -> its file's mtime when imported


def _file_mtime(module: types.ModuleType) -> int:
    try:
        return Path(module.__file__ or "").stat().st_mtime_ns
    except OSError:
        return -1


def _forget_if_edited(pack_pkg: str, pack_root: Path) -> None:
    """A long-lived process (the check server) must see a pack author's edits: if any
    module of the pack changed on disk, or the pack id now names a pack in another folder,
    the whole pack is imported anew (its checks may import its helpers). A fresh process
    (a checker child, a CLI) finds nothing imported and pays nothing."""
    if pack_pkg not in sys.modules:
        return  # the pack's package is made before any of its modules: nothing of it is here
    ours = [name for name in sys.modules if name == pack_pkg or name.startswith(pack_pkg + ".")]
    modules = [sys.modules[name] for name in ours if getattr(sys.modules[name], "__file__", None)]
    package = sys.modules.get(pack_pkg)
    moved = package is not None and list(getattr(package, "__path__", [])) != [str(pack_root)]
    if moved or any(_loaded.get(m.__name__) != _file_mtime(m) for m in modules):
        for name in ours:
            del sys.modules[name]
            _loaded.pop(name, None)


def load_checks(pack_id: str, pack_root: Path, slug: str) -> Checks:
    """The `checks` object of `<pack_root>/<slug>/checks.py`."""
    pack_pkg = package_name(pack_id)
    with _lock:
        _forget_if_edited(pack_pkg, pack_root)
        _ensure_package(ROOT_PACKAGE, None)
        _ensure_package(pack_pkg, pack_root)
        _ensure_package(f"{pack_pkg}.{slug}", pack_root / slug)
        module = importlib.import_module(f"{pack_pkg}.{slug}.checks")
        for name, mod in list(sys.modules.items()):
            if name.startswith(pack_pkg + ".") and name not in _loaded and getattr(mod, "__file__", None):
                _loaded[name] = _file_mtime(mod)
    checks = getattr(module, "checks", None)
    if not isinstance(checks, Checks):
        raise ConfigError(f"{pack_root / slug / 'checks.py'} defines no `checks = Checks()`")
    return checks

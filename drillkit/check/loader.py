"""Import a drill's `checks.py` from its pack folder, under a name of its own.

Each pack becomes a package `drillkit_packs.<id>` rooted at its folder, each drill a
subpackage, so a check module can share helpers with the pack's other drills through a
relative import (`from ..common import newest_first`) without clashing with another pack's.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
from pathlib import Path

from drillkit.check.framework import Checks
from drillkit.errors import ConfigError

ROOT_PACKAGE = "drillkit_packs"


def package_name(pack_id: str) -> str:
    return ROOT_PACKAGE + "." + re.sub(r"\W", "_", pack_id)


def _ensure_package(name: str, path: Path | None) -> None:
    if name in sys.modules:
        return
    module = types.ModuleType(name)
    module.__path__ = [str(path)] if path is not None else []  # a package: submodules import from here
    module.__package__ = name
    sys.modules[name] = module


def load_checks(pack_id: str, pack_root: Path, slug: str) -> Checks:
    """The `checks` object of `<pack_root>/<slug>/checks.py`."""
    pack_pkg = package_name(pack_id)
    _ensure_package(ROOT_PACKAGE, None)
    _ensure_package(pack_pkg, pack_root)
    _ensure_package(f"{pack_pkg}.{slug}", pack_root / slug)
    module = importlib.import_module(f"{pack_pkg}.{slug}.checks")
    checks = getattr(module, "checks", None)
    if not isinstance(checks, Checks):
        raise ConfigError(f"{pack_root / slug / 'checks.py'} defines no `checks = Checks()`")
    return checks

"""Tripwires against a learner file that rewrites the checks instead of passing them.

Learner code runs in the worker process, the same process as the drill's child-side checks,
so nothing here is a wall: Python lets code in a process change any object in it. What this
module does is close the known routes and notice their effects:

- `learner_imports()`: while the learner's module runs, drillkit's internals cannot be
  imported — not by an import statement, not by `importlib.import_module` (a sys.meta_path
  finder), not by a `sys.modules` lookup (they are out of sys.modules and off the `drillkit`
  package until the module has run), nor are the packs' checks (`drillkit_packs.*`). Only
  `drillkit.sandbox` is there.
- `seal()`: right before learner code runs, a snapshot of everything the checks and the
  report depend on in drillkit's modules (each module's names, each function's code,
  defaults and closure, each class's attributes, the check list and its entries) and of the
  standard-library pieces that write the report (builtins, json, os). `Seal.verify()` runs
  after the checks, right before the report is written: any difference is reported as
  tampering, never as a pass. Objects found through `gc.get_objects()` or a frame are the
  same objects, so patching them that way is caught too.

What it does not see: changes undone before the checks end, changes inside SQLAlchemy or
psycopg, a learner thread acting after the verification. README: "What a check can vouch for".

Event listeners the checks observe through (`Listeners`) are not frozen: SQLAlchemy's own
recipes add listeners of their own (query timing, global filters), and that is no
tampering. drillkit's must stay, in order, and where a listener could alter or hide what
they see none may be added: on the engine one that returns other SQL (retval=True; on the
Engine class it would rewrite the checks' own queries too), on Session one that runs before
the ORM recorder. This only closes the easy routes: a listener gets the connection, and
code written to forge can still change what is sent.
"""

from __future__ import annotations

import builtins
import gc
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from types import FunctionType, MappingProxyType, ModuleType
from typing import Any, NamedTuple

SANDBOX = "drillkit.sandbox"
PACKS = "drillkit_packs"  # where the check loader puts every pack's checks modules (check/loader.py)
_MISSING = object()
# Names the runtime itself adds to a module while it runs (the warnings module's dedup registry).
_RUNTIME_NAMES = frozenset({"__warningregistry__"})
# The report is written with these; a learner's replacement would write whatever it likes.
_STDLIB = {"json": None, "json.encoder": None, "os": ("write", "pwrite", "read", "close", "_exit", "fstat")}


def _ours(name: str) -> bool:
    """drillkit itself, or a pack's checks."""
    return name in ("drillkit", PACKS) or name.startswith(("drillkit.", PACKS + "."))


def _internal(name: str) -> bool:
    """What learner code may not reach: all of ours but the package and its sandbox."""
    return _ours(name) and name != "drillkit" and name != SANDBOX and not name.startswith(SANDBOX + ".")


def _refusal(name: str) -> ImportError:
    return ImportError(f"a drill file may import only {SANDBOX} from drillkit, not {name}", name=name)


class _DrillkitFinder:
    """First on sys.meta_path while learner code runs: importlib finds no drillkit internals.
    (A finder needs only find_spec; importlib.abc would cost milliseconds to import.)"""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if _internal(fullname):
            raise _refusal(fullname)
        return None


@contextmanager
def learner_imports() -> Iterator[None]:
    """While the learner's module runs, drillkit's internals are off limits: reaching the
    checker or the progress file from a drill file is never what the drill asks for."""
    real_import = builtins.__import__

    def guarded(name: str, globals=None, locals=None, fromlist=(), level=0):
        allowed = name == SANDBOX or (name == "drillkit" and tuple(fromlist or ()) == ("sandbox",))
        if level == 0 and _ours(name) and not allowed:
            error = _refusal(name)
            if fromlist:
                error.msg += f" ({', '.join(fromlist)})"
            raise error
        return real_import(name, globals, locals, fromlist, level)

    hidden = {name: module for name, module in sys.modules.items() if _internal(name)}
    package = sys.modules.get("drillkit")
    attributes = {}
    if package is not None:
        attributes = {
            key: value
            for key, value in vars(package).items()
            if isinstance(value, ModuleType) and key != "sandbox"
        }
    for name in hidden:
        del sys.modules[name]
    for key in attributes:
        delattr(package, key)
    finder = _DrillkitFinder()
    sys.meta_path.insert(0, finder)
    builtins.__import__ = guarded
    try:
        yield
    finally:
        builtins.__import__ = real_import
        sys.meta_path[:] = [f for f in sys.meta_path if f is not finder]
        sys.modules.update(hidden)  # the real ones again, over anything the learner put there
        for key, value in attributes.items():
            setattr(package, key, value)


def _anything(listener: Any) -> bool:
    return True


class Listeners(NamedTuple):
    """An event's listeners, as `read` returns them in the order they run. The ones there
    at the seal must all still be there, in that order. Learner code may add its own where
    `may_add` accepts them (`why` says why others are not), and none before them if `first`
    (a listener that runs first could hide or alter what they see).
    (A NamedTuple: a dataclass costs the worker's start-up path more to make.)"""

    read: Callable[[], tuple[Any, ...]]
    may_add: Callable[[Any], bool] = _anything
    first: bool = False
    why: str = ""


def _kept(now: tuple[Any, ...], sealed: tuple[Any, ...], rules: Listeners) -> str | None:
    """None if `now` keeps the sealed listeners as `rules` ask, else what is wrong."""
    positions = []
    for listener in sealed:
        start = positions[-1] + 1 if positions else 0
        found = next((i for i in range(start, len(now)) if now[i] is listener), None)
        if found is None:
            return "it was removed or reordered"
        positions.append(found)
    added = [listener for i, listener in enumerate(now) if i not in positions]
    if rules.first and positions and positions[0] > 0:
        return "a listener was added that runs before it"
    if not all(rules.may_add(listener) for listener in added):
        return "a listener was added" + (f": {rules.why}" if rules.why else "")
    return None


class Seal:
    """Identities taken before learner code ran, compared again before the report is written.
    (A plain class: the worker imports this module on its start-up path.)"""

    def __init__(self, check_names: list[str]) -> None:
        self.check_names = check_names
        # (where, container, key, value): mapping entries and attributes that must still be `value`
        self.entries: list[tuple[str, Any, str, Any]] = []
        # (where, namespace, keys, module name): no new names, except a module's own submodules
        self.namespaces: list[tuple[str, Mapping[str, Any], frozenset[str], str | None]] = []
        # module name -> names it builds on first use (PEP 562), allowed to appear later
        self.lazy: dict[str, frozenset[str]] = {}
        self.built: dict[tuple[str, str], Any] = {}  # (module, lazy name) -> what drillkit built
        self.lists: list[tuple[str, list[Any], tuple[Any, ...]]] = []
        # (where, the listeners, what they were): e.g. the SQL recorder's on the sandbox engine
        self.listeners: list[tuple[str, Listeners, tuple[Any, ...]]] = []
        self.settings: list[tuple[str, dict[str, Any], dict[str, Any]]] = []  # (name, live, as sealed)

    def add_built(self, module: str, values: Mapping[str, Any]) -> None:
        """Values drillkit itself put under `module`'s lazy names (see `lazy`): the only
        values those names may have."""
        self.built.update({(module, name): value for name, value in values.items()})

    def add_attributes(self, where: str, obj: Any, names: Iterable[str]) -> None:
        """Attributes of `obj` that must keep the values they have now."""
        for name in names:
            self.entries.append((f"{where}.{name}", obj, name, _attr(obj, name)))

    def add_settings(self, name: str, settings: dict[str, Any]) -> None:
        """A dict of settings (a session factory's) that must keep its keys and values. Told
        apart from tampering (see changed_setting): changing one is a plain mistake."""
        self.settings.append((name, settings, dict(settings)))

    def changed_setting(self) -> tuple[str, str] | None:
        """(name, key) of the first setting added, removed or changed since it was sealed."""
        for name, settings, sealed in self.settings:
            for key in settings.keys() | sealed.keys():
                if settings.get(key, _MISSING) is not sealed.get(key, _MISSING):
                    return name, key
        return None

    def add_listeners(self, listeners: Mapping[str, Listeners]) -> None:
        """Seal listeners that drillkit installs after the seal (on the async pair, built on
        first use): from now on they are verified like those there were at the seal."""
        for where, watched in listeners.items():
            self.listeners.append((where, watched, _read(watched.read)))

    def verify(self) -> str | None:
        """None if everything is as sealed, else what changed (for the tampering message)."""
        # Nothing of the learner's may run inside the verification and the report writing.
        sys.settrace(None)
        sys.setprofile(None)
        gc.disable()
        gc.callbacks.clear()
        for where, container, key, value in self.entries:
            if isinstance(container, dict | MappingProxyType):
                now = container.get(key, _MISSING)
            else:
                now = _attr(container, key)
            if now is not value:
                return f"{where} was changed"
        for where, namespace, keys, module in self.namespaces:
            lazy = self.lazy.get(module or "", frozenset())
            for key in namespace.keys() - keys - _RUNTIME_NAMES:
                value = namespace[key]
                if key in lazy:
                    if self.built.get((module or "", key), _MISSING) is not value:
                        return f"{where}.{key} was set by the drill file, not built by drillkit"
                    continue
                own_submodule = module is not None and isinstance(value, ModuleType)
                own_submodule = own_submodule and value.__name__ == f"{module}.{key}"
                if not own_submodule:
                    return f"{where} gained a new name {key!r}"
        for where, items, sealed in self.lists:
            if not _same(tuple(items), sealed):
                return f"{where} was changed"
        for where, listeners, sealed in self.listeners:
            problem = _kept(_read(listeners.read), sealed, listeners)
            if problem is not None:
                return f"{where} was changed ({problem})"
        return None


def _same(now: tuple[Any, ...], sealed: tuple[Any, ...]) -> bool:
    return len(now) == len(sealed) and all(a is b for a, b in zip(now, sealed, strict=True))


def _read(read: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
    try:
        return tuple(read())
    except Exception:
        return (_MISSING,)


def _attr(obj: Any, key: str) -> Any:
    try:
        return getattr(obj, key)
    except Exception:
        return _MISSING


def seal(
    checks: Sequence[Any],
    modules: Iterable[ModuleType] = (),
    classes: Iterable[type] = (),
    listeners: Mapping[str, Listeners] | None = None,
    lazy: Mapping[str, Iterable[str]] | None = None,
) -> Seal:
    """Snapshot drillkit's modules, `modules`, `classes` (e.g. the Session class whose
    methods drillkit's recorder wraps), the check list `checks` and the modules its functions
    live in, the report writer's standard library, and the `listeners` there are now.
    `lazy`: per module, the names its __getattr__ may add later (the sandbox's async pair)."""
    result = Seal([c.name for c in checks])
    result.lazy = {name: frozenset(names) for name, names in (lazy or {}).items()}
    seen: set[int] = set()
    for cls in classes:
        _class(result, cls, f"{cls.__module__}.{cls.__qualname__}", seen)
    for where, watched in (listeners or {}).items():
        result.listeners.append((where, watched, _read(watched.read)))
    covered = [(name, vars(m)) for name, m in list(sys.modules.items()) if _ours(name)]
    covered += [(m.__name__, vars(m)) for m in modules]
    for check in checks:
        for attribute in ("__class__", "name", "fn"):  # a swapped __class__ could re-route the others
            result.entries.append((f"check «{check.name}»", check, attribute, getattr(check, attribute)))
        _function(result, check.fn, f"check «{check.name}»", seen)
        # The namespace the check's code runs in, even for a checks file loaded by path.
        namespace = getattr(check.fn, "__globals__", None)
        if isinstance(namespace, dict):
            covered.append((str(namespace.get("__name__", "the checks")), namespace))
    if isinstance(checks, list):
        result.lists.append(("the list of checks", checks, tuple(checks)))
    for name, namespace in covered:
        _namespace(result, name, namespace, seen)
    for name, only in _STDLIB.items():
        module = sys.modules.get(name)
        if module is not None:
            for key in only or list(vars(module)):
                if key in vars(module):
                    result.entries.append((f"{name}.{key}", vars(module), key, vars(module)[key]))
    for key, value in vars(builtins).items():
        if key != "__import__":  # the import guard swaps it while the learner's module runs
            result.entries.append((f"builtins.{key}", vars(builtins), key, value))
    return result


def _namespace(result: Seal, name: str, namespace: dict[str, Any], seen: set[int]) -> None:
    """A module's globals: every name in it, and in depth what the module itself defines."""
    if id(namespace) in seen:
        return
    seen.add(id(namespace))
    result.namespaces.append((f"module {name}", namespace, frozenset(namespace), name))
    for key, value in list(namespace.items()):
        where = f"{name}.{key}"
        result.entries.append((where, namespace, key, value))
        if isinstance(value, FunctionType) and value.__globals__ is namespace:
            _function(result, value, where, seen)
        elif isinstance(value, type) and value.__module__ == name:
            _class(result, value, where, seen)
        elif type(value).__name__ == "Checks" and isinstance(getattr(value, "checks", None), list):
            result.entries.append((where, value, "__class__", type(value)))
            result.entries.append((where, value, "checks", value.checks))
            result.lists.append((where, value.checks, tuple(value.checks)))


def _class(result: Seal, cls: type, where: str, seen: set[int]) -> None:
    if id(cls) in seen:
        return
    seen.add(id(cls))
    result.entries.append((where, cls, "__bases__", cls.__bases__))
    attributes = vars(cls)  # a live view of the class's own dict
    result.namespaces.append((f"class {where}", attributes, frozenset(attributes), None))
    for key, value in list(attributes.items()):
        result.entries.append((f"{where}.{key}", attributes, key, value))
        inner = getattr(value, "__func__", value)  # staticmethod / classmethod
        if isinstance(inner, FunctionType):
            _function(result, inner, f"{where}.{key}", seen)


def _function(result: Seal, fn: Any, where: str, seen: set[int]) -> None:
    if not isinstance(fn, FunctionType) or id(fn) in seen:
        return
    seen.add(id(fn))
    for attribute in ("__code__", "__defaults__", "__kwdefaults__"):
        result.entries.append((where, fn, attribute, getattr(fn, attribute)))
    for cell in fn.__closure__ or ():
        with suppress(ValueError):  # an empty cell
            result.entries.append((f"{where} (closure)", cell, "cell_contents", cell.cell_contents))

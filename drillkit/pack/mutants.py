"""Wrong answers derived from a reference solution: small, meaning-changing edits of its syntax tree.

A pack's checks are only as strong as the wrong answers they reject. `generate()` reads a
reference solution and yields *mutants*: copies of it with one small edit each, the kind of
slip a learner makes. A mutant the checks still pass is a *survivor*: either the checks
miss a real mistake, or the edit happens to be harmless (an *equivalent* mutant, which the
pack marks by id with a reason).

Only the answer is mutated: the text after the line starting with `# --- your answer below`
(the whole file when there is no such line). The part above is given by the starter;
mutating it would test the starter, not the learner's answer. Each mutant keeps the whole
file, so it runs like the learner's would.

Edits are made on the text at the positions `ast` reports, so a mutant keeps the reference's
layout and comments and its diff shows just the edit. Mutants that do not compile are
skipped; of mutants with identical text only the first is kept.

Mutation operators (id = `operator:target@scope`, see below):

| operator          | edit: example                                                                  |
|-------------------|--------------------------------------------------------------------------------|
| `drop-call`       | drop a call from a chain: `select(D).where(c).all()` → `select(D).all()`,      |
|                   | `x.desc()` → `x`, `.options(...)` dropped                                      |
| `drop-arg`        | drop an argument that is a call: `.options(selectinload(U.docs))` →            |
|                   | `.options()`, `mapped_column(ForeignKey("users.id"))` → `mapped_column()`      |
| `drop-kwarg`      | drop a keyword argument: `mapped_column(unique=True)` → `mapped_column()`      |
| `delete-stmt`     | a statement → `pass`: a call (`session.commit()`), an assignment to an         |
|                   | attribute or item (`doc.title = "x"`), a class attribute (`body: Mapped[str]`),|
|                   | `return x`, `raise`                                                            |
| `empty-body`      | a `finally:` or `except:` body → `pass`                                        |
| `flip-compare`    | `==` ↔ `!=`, `<` ↔ `>=`, `>` ↔ `<=`, `is` ↔ `is not`, `in` ↔ `not in`          |
| `flip-bool`       | `and` ↔ `or` (all of one expression's)                                         |
| `flip-arith`      | `+` ↔ `-`                                                                      |
| `drop-not`        | `not x` → `x`                                                                  |
| `flip-order`      | `desc` ↔ `asc`, a method or a function: `.desc()` → `.asc()`                   |
| `swap-method`     | `scalars` ↔ `execute`, `scalar` → `execute`, `commit` ↔ `flush`                |
| `change-number`   | a number + 1: `== 1` → `== 2`, `String(200)` → `String(201)`                   |
| `change-str`      | a string gets `_mut` appended: `"Q2 Report"` → `"Q2 Report_mut"`               |
| `flip-literal`    | `True` ↔ `False` (not `x=True`, which drop-kwarg covers): `nullable=False` →   |
|                   | `nullable=True`                                                                |
| `drop-annotation` | `id: Mapped[int] = mapped_column()` → `id = mapped_column()` (class bodies)    |
| `make-optional`   | `title: Mapped[str]` → `title: Mapped[str | None]` (not for a primary key)     |
| `yield-return`    | a `yield` statement → `return`: `yield db` → `return db`                       |

Not mutated: docstrings, annotations (`Mapped[...]`, forward references), f-string parts.

Ids are stable: the same reference gives the same ids, and because an id names *what* is
edited (`target`) and *where* (`scope`: the enclosing function or class attribute, or the
module-level variable being assigned) rather than a line number, editing the given part of
the file, or unrelated lines of the answer, does not renumber them. Examples:
`drop-call:order_by@stmt`, `delete-stmt:session.commit`, `drop-kwarg:unique@User.email`,
`yield-return:db@get_db`. When one id would name two sites, the later ones get `#2`, `#3`...
"""

from __future__ import annotations

import ast
import bisect
import difflib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

MARKER = "# --- your answer below"

# Method or function names whose sibling means something else to SQLAlchemy.
SWAPS: dict[str, str] = {
    "scalars": "execute",
    "execute": "scalars",
    "scalar": "execute",
    "commit": "flush",
    "flush": "commit",
}
ORDER_FLIPS: dict[str, str] = {"desc": "asc", "asc": "desc"}

_COMPARE_FLIPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "!=",
    ast.NotEq: "==",
    ast.Lt: ">=",
    ast.GtE: "<",
    ast.Gt: "<=",
    ast.LtE: ">",
    ast.Is: "is not",
    ast.IsNot: "is",
    ast.In: "not in",
    ast.NotIn: "in",
}
_COMPARE_TOKEN = re.compile(r"==|!=|<=|>=|<|>|\bis\s+not\b|\bnot\s+in\b|\bis\b|\bin\b")
_MUTATED_STR = "_mut"


@dataclass(frozen=True)
class Mutant:
    id: str  # stable: operator:target@scope, see the module docstring
    operator: str
    description: str  # what the edit does, in words
    line: int  # 1-based line of the edit in the file
    source: str  # the whole mutated file
    diff: str  # unified diff against the reference


@dataclass(frozen=True)
class _Site:
    """One edit: replace text[start:end] by `text`."""

    operator: str
    target: str
    scope: str
    description: str
    line: int
    start: int
    end: int
    text: str

    @property
    def base_id(self) -> str:
        name = f"{self.operator}:{self.target}" if self.target else self.operator
        return f"{name}@{self.scope}" if self.scope else name


def answer_start_line(source: str) -> int:
    """The 1-based line of the answer marker; 0 when there is none (everything is the answer)."""
    for number, line in enumerate(_physical_lines(source), start=1):
        if line.lstrip().startswith(MARKER):
            return number
    return 0


def generate(source: str, *, filename: str = "solution.py") -> Iterator[Mutant]:
    """The mutants of `source`, in source order; raises SyntaxError if `source` does not parse."""
    tree = ast.parse(source, filename)
    # In source order; sites at one offset keep the order they were found in (the wider edit
    # first), which decides which of two identical mutants keeps its id.
    sites = sorted(_Finder(source, answer_start_line(source)).find(tree), key=lambda s: s.start)
    seen: set[str] = {source}
    for site, mutant_id in zip(sites, _ids(sites), strict=True):
        mutated = source[: site.start] + site.text + source[site.end :]
        if mutated in seen or not _compiles(mutated, filename):
            continue
        seen.add(mutated)
        yield Mutant(
            id=mutant_id,
            operator=site.operator,
            description=site.description,
            line=site.line,
            source=mutated,
            diff=unified_diff(source, mutated, filename),
        )


def unified_diff(reference: str, mutated: str, filename: str = "solution.py") -> str:
    lines = difflib.unified_diff(
        reference.splitlines(keepends=True),
        mutated.splitlines(keepends=True),
        f"a/{filename}",
        f"b/{filename}",
        n=1,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _ids(sites: list[_Site]) -> list[str]:
    # Numbered before compiling and deduplicating, so an id never depends on whether an
    # earlier site's mutant happened to compile.
    counts: dict[str, int] = {}
    ids = []
    for site in sites:
        counts[site.base_id] = counts.get(site.base_id, 0) + 1
        n = counts[site.base_id]
        ids.append(site.base_id if n == 1 else f"{site.base_id}#{n}")
    return ids


def _compiles(source: str, filename: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. SyntaxWarning for `x is 1`: still a valid mutant
        try:
            compile(source, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
    return True


class _Finder:
    """Walks the tree in source order and lists the edits each operator can make."""

    def __init__(self, source: str, answer_line: int) -> None:
        self.source = source
        self.answer_line = answer_line
        self.sites: list[_Site] = []
        self._statement_calls: set[int] = set()  # id() of calls that are a whole statement
        self._keyword_values: set[int] = set()  # id() of `name=value` values
        # ast columns are UTF-8 byte offsets; edits need character offsets into `source`.
        self._lines = _physical_lines(source)
        self._starts = [0]
        for line in self._lines:
            self._starts.append(self._starts[-1] + len(line))

    def find(self, tree: ast.Module) -> list[_Site]:
        self._body(tree.body, scope="", in_function=False)
        return self.sites

    # --- positions -----------------------------------------------------------------
    def _offset(self, lineno: int, col: int) -> int:
        line = self._lines[lineno - 1] if lineno <= len(self._lines) else ""
        return self._starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))

    def _start(self, node: ast.AST) -> int:
        return self._offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def _end(self, node: ast.AST) -> int:
        return self._offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def _text(self, node: ast.AST) -> str:
        return self.source[self._start(node) : self._end(node)]

    def _in_answer(self, node: ast.AST) -> bool:
        return node.lineno > self.answer_line  # type: ignore[attr-defined]

    def _add(
        self, operator: str, target: str, scope: str, description: str, start: int, end: int, text: str
    ) -> None:
        line = bisect.bisect_right(self._starts, start)
        self.sites.append(_Site(operator, target, scope, description, line, start, end, text))

    # --- statements ----------------------------------------------------------------
    def _body(self, body: list[ast.stmt], scope: str, in_function: bool, in_class: bool = False) -> None:
        for stmt in body:
            self._statement(stmt, scope, in_function, in_class)

    def _statement(self, stmt: ast.stmt, scope: str, in_function: bool, in_class: bool) -> None:
        if self._in_answer(stmt):
            self._statement_sites(stmt, scope, in_class)
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            inner = _join(scope, stmt.name)
            for node in [*stmt.decorator_list, *_defaults(stmt.args)]:
                self._expression(node, scope)
            self._body(stmt.body, inner, in_function=True)
            return
        if isinstance(stmt, ast.ClassDef):
            for node in [*stmt.decorator_list, *stmt.bases, *stmt.keywords]:
                self._expression(node, scope)
            self._body(stmt.body, _join(scope, stmt.name), in_function=False, in_class=True)
            return
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant):
                return  # a docstring
            self._statement_calls.add(id(stmt.value))
        own = scope
        name = _assigned_name(stmt)
        if name and not in_function:  # a module variable or a class attribute names its scope
            own = _join(scope, name)
        for field, value in ast.iter_fields(stmt):
            if field in ("annotation", "returns", "type_comment"):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.stmt):
                    self._statement(child, scope, in_function, in_class=False)
                elif isinstance(child, ast.ExceptHandler):
                    if child.type is not None:
                        self._expression(child.type, own)
                    self._body(child.body, scope, in_function)
                elif isinstance(child, ast.match_case):
                    self._body(child.body, scope, in_function)
                elif isinstance(child, ast.AST):
                    self._expression(child, own)

    def _statement_sites(self, stmt: ast.stmt, scope: str, in_class: bool) -> None:
        what = _deletable(stmt, in_class)
        if what is not None:
            start, end = self._start(stmt), self._end(stmt)
            rest = self.source[end : self._line_end(end)]
            if re.fullmatch(r"[ \t]*(#.*)?", rest):  # a trailing comment goes with its statement
                end += len(rest)
            self._add("delete-stmt", what, scope, f"delete `{_short(self._text(stmt))}`", start, end, "pass")
        if in_class and isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            self._annotation_sites(stmt, stmt.target.id, scope)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Yield | ast.YieldFrom):
            keyword = "yield from" if isinstance(stmt.value, ast.YieldFrom) else "yield"
            value = stmt.value.value
            target = _short(self._text(value), 24) if value is not None else ""
            start = self._start(stmt)
            self._add(
                "yield-return",
                target,
                scope,
                f"`{keyword}` becomes `return`",
                start,
                start + len(keyword),
                "return",
            )
        if isinstance(stmt, ast.Try | ast.TryStar):
            if stmt.finalbody and not _just_pass(stmt.finalbody):
                self._empty_body(stmt.finalbody, "finally", scope)
            for handler in stmt.handlers:
                if not _just_pass(handler.body):
                    self._empty_body(handler.body, "except", scope)

    def _annotation_sites(self, stmt: ast.AnnAssign, name: str, scope: str) -> None:
        if stmt.value is not None:  # `id: Mapped[int] = mapped_column()` -> `id = mapped_column()`
            start, end = self._end(stmt.target), self._start(stmt.value)
            self._add("drop-annotation", name, scope, f"drop the annotation of `{name}`", start, end, " = ")
        ann = stmt.annotation
        mapped = isinstance(ann, ast.Subscript) and _last_name(ann.value) == "Mapped"
        # A primary key is NOT NULL whatever its annotation says: that mutant would be equivalent.
        primary = isinstance(stmt.value, ast.Call) and any(
            k.arg == "primary_key" for k in stmt.value.keywords
        )
        if mapped and not primary and isinstance(ann.slice, ast.Name | ast.Attribute):  # type: ignore[union-attr]
            at = self._end(ann.slice)  # type: ignore[union-attr]
            inner = self._text(ann.slice)  # type: ignore[union-attr]
            description = f"`Mapped[{inner}]` becomes `Mapped[{inner} | None]`"
            self._add("make-optional", name, scope, description, at, at, " | None")

    def _empty_body(self, body: list[ast.stmt], kind: str, scope: str) -> None:
        start, end = self._start(body[0]), self._end(body[-1])
        rest = self.source[end : self._line_end(end)]
        if re.fullmatch(r"[ \t]*(#.*)?", rest):
            end += len(rest)
        self._add("empty-body", kind, scope, f"the `{kind}:` body becomes `pass`", start, end, "pass")

    def _line_end(self, offset: int) -> int:
        newline = self.source.find("\n", offset)
        return len(self.source) if newline < 0 else newline

    # --- expressions ---------------------------------------------------------------
    def _expression(self, node: ast.AST, scope: str) -> None:
        if isinstance(node, ast.JoinedStr):
            return  # f-string parts have no reliable positions to edit
        if isinstance(node, ast.Lambda):
            self._expression(node.body, scope)
            return
        if isinstance(node, ast.expr) and self._in_answer(node):
            self._expression_sites(node, scope)
        for child in ast.iter_child_nodes(node):
            self._expression(child, scope)

    def _expression_sites(self, node: ast.expr, scope: str) -> None:
        if isinstance(node, ast.Call):
            self._call_sites(node, scope)
        elif isinstance(node, ast.Compare):
            self._compare_sites(node, scope)
        elif isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            other = "or" if word == "and" else "and"
            edits = [
                self._token_between(a, b, rf"\b{word}\b")
                for a, b in zip(node.values, node.values[1:], strict=False)
            ]
            if all(e is not None for e in edits):
                start, end = edits[0][0], edits[-1][1]  # type: ignore[index]
                text = self.source[start:end]
                for s, e in reversed(edits):  # type: ignore[misc]
                    text = text[: s - start] + other + text[e - start :]
                self._add("flip-bool", word, scope, f"`{word}` becomes `{other}`", start, end, text)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            sign, other = ("+", "-") if isinstance(node.op, ast.Add) else ("-", "+")
            found = self._token_between(node.left, node.right, re.escape(sign))
            if found:
                self._add("flip-arith", sign, scope, f"`{sign}` becomes `{other}`", *found, other)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._add(
                "drop-not",
                _short(self._text(node.operand), 24),
                scope,
                "drop the `not`",
                self._start(node),
                self._end(node),
                self._text(node.operand),
            )
        elif isinstance(node, ast.Constant):
            self._constant_sites(node, scope)

    def _call_sites(self, call: ast.Call, scope: str) -> None:
        func = call.func
        if isinstance(func, ast.Attribute):
            # `session.add(x)` is no chain; `x.desc()`, `select(D).where(c)` are. A call that is
            # a whole statement is delete-stmt's, unless it ends a chain of calls.
            chained = not isinstance(func.value, ast.Name)
            if id(call) in self._statement_calls and not isinstance(func.value, ast.Call):
                chained = False
            if chained:
                self._add(
                    "drop-call",
                    func.attr,
                    scope,
                    f"drop `.{func.attr}({'...' if call.args or call.keywords else ''})`",
                    self._start(call),
                    self._end(call),
                    self._text(func.value),
                )
            name_end = self._end(func)
            name_start = name_end - len(func.attr)
            self._rename(func.attr, name_start, name_end, scope)
        elif isinstance(func, ast.Name) and func.id in ORDER_FLIPS:
            self._rename(func.id, self._start(func), self._end(func), scope)
        args = sorted([*call.args, *call.keywords], key=lambda n: (n.lineno, n.col_offset))
        self._keyword_values.update(id(k.value) for k in call.keywords)
        for index, arg in enumerate(args):
            if isinstance(arg, ast.keyword):
                if arg.arg is None:
                    continue  # **kwargs
                target, description = arg.arg, f"drop `{arg.arg}=...`"
            elif isinstance(arg, ast.Call):
                target = _call_name(arg)
                description = f"drop the argument `{_short(self._text(arg))}`"
            else:
                continue
            start, end = self._start(arg), self._end(arg)
            if index + 1 < len(args):
                end = self._start(args[index + 1])  # "a, b" -> "b": take the comma after
            elif index > 0:
                start = self._end(args[index - 1])  # "a, b" -> "a": take the comma before
            operator = "drop-kwarg" if isinstance(arg, ast.keyword) else "drop-arg"
            self._add(operator, target, scope, description, start, end, "")

    def _rename(self, name: str, start: int, end: int, scope: str) -> None:
        if self.source[start:end] != name:
            return  # a name split across lines or by a comment: leave it
        if name in ORDER_FLIPS:
            operator, other = "flip-order", ORDER_FLIPS[name]
        elif name in SWAPS:
            operator, other = "swap-method", SWAPS[name]
        else:
            return
        self._add(operator, f"{name}->{other}", scope, f"`{name}` becomes `{other}`", start, end, other)

    def _compare_sites(self, node: ast.Compare, scope: str) -> None:
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            found = self._token_between(left, right, _COMPARE_TOKEN.pattern)
            if not found:
                continue
            token = re.sub(r"\s+", " ", self.source[found[0] : found[1]])
            other = _COMPARE_FLIPS[type(op)]
            self._add("flip-compare", token, scope, f"`{token}` becomes `{other}`", *found, other)

    def _constant_sites(self, node: ast.Constant, scope: str) -> None:
        value, text = node.value, self._text(node)
        start, end = self._start(node), self._end(node)
        if isinstance(value, bool):
            if value and id(node) in self._keyword_values:
                return  # `unique=True` -> False is almost always the default: drop-kwarg's mutant
            other = str(not value)
            self._add("flip-literal", text, scope, f"`{text}` becomes `{other}`", start, end, other)
        elif isinstance(value, int | float):
            other = repr(value + 1)
            self._add("change-number", text, scope, f"`{text}` becomes `{other}`", start, end, other)
        elif isinstance(value, str):
            quote = text[-3:] if text[-3:] in ('"""', "'''") else text[-1:]
            if quote not in ('"', "'", '"""', "'''"):
                return
            mutated = text[: -len(quote)] + _MUTATED_STR + quote
            self._add(
                "change-str",
                _slug(value),
                scope,
                f"{_short(text)} becomes {_short(mutated)}",
                start,
                end,
                mutated,
            )

    def _token_between(self, left: ast.AST, right: ast.AST, pattern: str) -> tuple[int, int] | None:
        """The offsets of the operator token between two operands (ast does not record them)."""
        gap_start = self._end(left)
        gap = self.source[gap_start : self._start(right)]
        match = re.search(pattern, gap)
        if match is None or "#" in gap[: match.start()]:
            return None
        return gap_start + match.start(), gap_start + match.end()


def _physical_lines(source: str) -> list[str]:
    """Lines as Python counts them: str.splitlines() also breaks at form feeds and U+2028."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z", source)


def _join(scope: str, name: str) -> str:
    return f"{scope}.{name}" if scope else name


def _defaults(args: ast.arguments) -> list[ast.expr]:
    return [*args.defaults, *(d for d in args.kw_defaults if d is not None)]


def _assigned_name(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign | ast.AugAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id
    return None


def _deletable(stmt: ast.stmt, in_class: bool) -> str | None:
    """What deleting `stmt` removes (its id target), or None when it is not a delete-stmt site."""
    if isinstance(stmt, ast.Expr):
        value = stmt.value
        if isinstance(value, ast.Constant | ast.Yield | ast.YieldFrom):
            return None  # a docstring; a yield has its own operator
        if isinstance(value, ast.Await):
            value = value.value
        return _call_name(value) if isinstance(value, ast.Call) else type(value).__name__.lower()
    if isinstance(stmt, ast.Return):
        return "return" if stmt.value is not None else None
    if isinstance(stmt, ast.Raise):
        return "raise"
    if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if in_class:
            name = _assigned_name(stmt)
            return name if name else None
        side_effects = [t for t in targets if isinstance(t, ast.Attribute | ast.Subscript)]
        if side_effects:
            return ast.unparse(side_effects[0]) + "="
    return None


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _call_name(call: ast.Call) -> str:
    func = call.func
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
        return ".".join(reversed(parts))
    return parts[0] if parts else "call"  # a method on a call result: its own name says enough


def _just_pass(body: list[ast.stmt]) -> bool:
    return all(isinstance(s, ast.Pass) for s in body)


def _short(text: str, limit: int = 60) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _slug(value: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")[:24].rstrip("_")
    return slug or "empty"

"""Static type checking: syntax tree -> typed expression tree (or :class:`RuleError`).

Kinds: ``number`` (a series of numbers per stock, or a constant), ``condition`` (true/false
per stock and bar) and ``text`` (sector, industry, exchange, quoted text).  The kind of every
expression is known here, before any data is touched.  Function arguments are bound to the
parameters of the function table, window lengths are checked against their bounds, constant
sub-expressions are folded, and calls to custom indicators are expanded inline (with cycle
detection).
"""

from __future__ import annotations

import difflib
import math

import numpy as np

from app.rules import functions as fx
from app.rules import syntax as sx
from app.rules.errors import RuleError
from app.rules.fields import FIELDS
from app.rules.functions import CONDITION, FULL, FUNCTIONS, NUMBER, SERIES, TEXT, WINDOW

MAX_EXPANDED_NODES = 2000
MAX_EXPANDED_DEPTH = 200
MAX_CUSTOM_NESTING = 10
BIG = 10**9  # "the whole history" as a number of bars
_IN_CUSTOM = "in custom indicator `"
_NO_ENV: dict = {}

KIND_LABEL = {NUMBER: "a number", CONDITION: "a condition", TEXT: "text"}


# --------------------------------------------------------------------------- typed tree
class Expr:
    """A checked expression node.  ``key`` identifies it structurally (shared sub-expressions
    of different rules have equal keys and are evaluated once per data batch)."""

    __slots__ = ("kind", "key", "pos", "children")
    memoise = False  # keep the result in the data batch's memo even when it is large

    def lookback(self) -> int:
        return 0

    def warmup(self) -> int:
        """Past bars needed for the last value to equal the full-history one (finite even
        for recursive smoothers, unlike :meth:`lookback`)."""
        return self.lookback()

    def compute(self, args, width: int, data, n_symbols: int):  # pragma: no cover
        raise NotImplementedError


def _last(a, width):
    """Last ``width`` bars of an evaluated value (scalars and (S, 1) columns pass through)."""
    if isinstance(a, np.ndarray) and a.ndim == 2 and a.shape[1] > width:
        return a[:, a.shape[1] - width :]
    return a


class Const(Expr):
    __slots__ = ("value",)

    def __init__(self, value, kind, pos):
        self.value = value
        self.kind = kind
        self.pos = pos
        self.children = ()
        if kind == TEXT:
            self.key = repr(value)
        else:
            self.key = repr(float(value))

    def compute(self, args, width, data, n_symbols):
        return self.value if self.kind == TEXT else np.float64(self.value)


class FieldRef(Expr):
    __slots__ = ("name",)
    memoise = True

    def __init__(self, name, kind, pos):
        self.name = name
        self.kind = kind
        self.pos = pos
        self.children = ()
        self.key = name

    def compute(self, args, width, data, n_symbols):
        if self.kind == TEXT:
            return data.text(self.name, self.pos)
        return _last(data.number(self.name, self.pos), width)


class Arith(Expr):
    __slots__ = ("op",)

    def __init__(self, op, a, b, pos):
        self.op = op
        self.kind = NUMBER
        self.pos = pos
        self.children = (a, b)
        self.key = f"({a.key}{op}{b.key})"

    def compute(self, args, width, data, n_symbols):
        return fx.ARITHMETIC[self.op](_last(args[0], width), _last(args[1], width))


class Neg(Expr):
    __slots__ = ()

    def __init__(self, a, pos):
        self.kind = NUMBER
        self.pos = pos
        self.children = (a,)
        self.key = f"(-{a.key})"

    def compute(self, args, width, data, n_symbols):
        return np.negative(_last(args[0], width))


class Compare(Expr):
    __slots__ = ("op", "text")

    def __init__(self, op, a, b, pos):
        self.op = op
        self.text = a.kind == TEXT
        self.kind = CONDITION
        self.pos = pos
        self.children = (a, b)
        self.key = f"({a.key}{op}{b.key})"

    def compute(self, args, width, data, n_symbols):
        a, b = _last(args[0], width), _last(args[1], width)
        if self.text:
            eq = np.equal(a, b)
            m = eq if self.op == "==" else ~eq
            unknown = np.equal(a, "") | np.equal(b, "")
            return np.where(unknown, np.nan, np.asarray(m, dtype=np.float64))
        return fx.compare(self.op, a, b)


class Logic(Expr):
    __slots__ = ("op",)

    def __init__(self, op, a, b, pos):
        self.op = op
        self.kind = CONDITION
        self.pos = pos
        self.children = (a, b)
        self.key = f"({a.key} {op} {b.key})"

    def compute(self, args, width, data, n_symbols):
        a, b = _last(args[0], width), _last(args[1], width)
        return fx.k_and(a, b) if self.op == "and" else fx.k_or(a, b)


class Not(Expr):
    __slots__ = ()

    def __init__(self, a, pos):
        self.kind = CONDITION
        self.pos = pos
        self.children = (a,)
        self.key = f"(not {a.key})"

    def compute(self, args, width, data, n_symbols):
        return fx.k_not(_last(args[0], width))


class InSet(Expr):
    __slots__ = ("values",)

    def __init__(self, a, values, pos):
        self.values = tuple(sorted(set(values)))
        self.kind = CONDITION
        self.pos = pos
        self.children = (a,)
        self.key = f"({a.key} in {self.values!r})"

    def compute(self, args, width, data, n_symbols):
        a = args[0]
        if isinstance(a, str):
            return np.float64(a in self.values) if a else np.float64(np.nan)
        m = np.isin(a, np.array(self.values, dtype=str))
        return np.where(np.equal(a, ""), np.nan, m.astype(np.float64))


class Call(Expr):
    __slots__ = ("fn", "consts", "_extra", "_warm")
    memoise = True

    def __init__(self, fn, series, consts, pos):
        self.fn = fn
        self.consts = consts
        self.kind = fn.returns
        self.pos = pos
        self.children = tuple(series)
        extra = fn.lookback(consts)
        self._extra = BIG if extra is FULL else extra
        self._warm = fn.warmup(consts) if extra is FULL and fn.warmup is not None else self._extra
        parts = [c.key for c in series]
        parts += [f"{k}={_fmt(v)}" for k, v in sorted(consts.items())]
        self.key = f"{fn.name}({','.join(parts)})"

    def lookback(self) -> int:
        return self._extra

    def warmup(self) -> int:
        return self._warm

    def compute(self, args, width, data, n_symbols):
        need = min(width + self._extra, data.n_bars)
        full = [np.broadcast_to(_last(a, need), (n_symbols, need)) for a in args]
        out = self.fn.impl(full, self.consts)
        return _last(out, width)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


# --------------------------------------------------------------------------- checking
def suggest(name: str, candidates) -> str | None:
    got = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return got[0] if got else None


def _start(node: sx.Node) -> int:
    while isinstance(node, sx.Binary) or isinstance(node, sx.In):
        node = node.left if isinstance(node, sx.Binary) else node.operand
    return node.pos


class Checker:
    """Checks one rule text (one instance per compile)."""

    def __init__(self, custom=None):
        self.custom = custom  # CustomIndicatorSet | None
        self.stack: list[str] = []
        self.nodes = 0

    # -- entry point
    def check(self, node: sx.Node, env: dict | None = None, depth: int = 0) -> Expr:
        self.nodes += 1
        if self.nodes > MAX_EXPANDED_NODES:
            raise RuleError(
                f"the formula expands to more than {MAX_EXPANDED_NODES} parts "
                "(custom indicators included); simplify it",
                node.pos,
            )
        if depth > MAX_EXPANDED_DEPTH:
            raise RuleError(
                f"the formula is nested more than {MAX_EXPANDED_DEPTH} levels deep (custom indicators included)",
                node.pos,
            )
        if env is None:
            env = _NO_ENV
        d = depth + 1
        t = type(node)
        if t is sx.Num:
            return Const(node.value, NUMBER, node.pos)
        if t is sx.Binary:
            return self._binary(node, env, d)
        if t is sx.Call:
            return self._call(node, env, d)
        if t is sx.Name:
            return self._name(node, env, d)
        if t is sx.Str:
            return Const(node.value.casefold(), TEXT, node.pos)
        if t is sx.Unary:
            a = self.check(node.operand, env, d)
            if node.op == "not":
                self._want(a, CONDITION, "`not` applies to a condition", node.operand)
                if isinstance(a, Const):
                    return Const(1.0 - a.value, CONDITION, node.pos)
                return Not(a, node.pos)
            self._want(a, NUMBER, f"`{node.op}` applies to a number", node.operand)
            if node.op == "+":
                return a
            if isinstance(a, Const):
                return Const(-a.value, NUMBER, node.pos)
            return Neg(a, node.pos)
        if isinstance(node, sx.Binary):
            return self._binary(node, env, d)
        if isinstance(node, sx.In):
            a = self.check(node.operand, env, d)
            if a.kind != TEXT:
                raise RuleError(
                    f"`in` checks text such as sector or industry; this is {KIND_LABEL[a.kind]}",
                    _start(node.operand),
                )
            if isinstance(a, Const):
                return Const(float(a.value in node.values), CONDITION, node.pos)
            return InSet(a, node.values, node.pos)
        if isinstance(node, sx.Call):
            return self._call(node, env, d)
        raise RuleError("unsupported expression", node.pos)  # pragma: no cover

    def _want(self, e: Expr, kind: str, what: str, node: sx.Node) -> None:
        if e.kind != kind:
            hint = ""
            if kind == CONDITION and e.kind == NUMBER:
                hint = " (add a comparison such as `> 0`)"
            raise RuleError(
                f"{what}, but this is {KIND_LABEL[e.kind]}{hint}",
                _start(node),
                [KIND_LABEL[kind]],
            )

    def _name(self, node: sx.Name, env: dict, depth: int) -> Expr:
        name = node.name
        if name in env:
            return Const(env[name], NUMBER, node.pos)
        f = FIELDS.get(name)
        if f is not None:
            return FieldRef(name, f.kind, node.pos)
        if name in FUNCTIONS:
            fn = FUNCTIONS[name]
            raise RuleError(
                f"`{name}` is a function: write it with parentheses, e.g. {fn.example}",
                node.pos,
                [f"{fn.signature()}"],
            )
        if self.custom is not None and name in self.custom:
            return self._expand(name, (), node.pos, env, depth)
        candidates = list(FIELDS) + list(env)
        if self.custom is not None:
            candidates += list(self.custom.names())
        raise RuleError(f"unknown field `{name}`", node.pos, suggestion=suggest(name, candidates))

    def _binary(self, node: sx.Binary, env: dict, depth: int) -> Expr:
        op = node.op
        a = self.check(node.left, env, depth)
        b = self.check(node.right, env, depth)
        if op in ("and", "or"):
            self._want(a, CONDITION, f"`{op}` combines conditions", node.left)
            self._want(b, CONDITION, f"`{op}` combines conditions", node.right)
            if isinstance(a, Const) and isinstance(b, Const):
                v = fx.k_and(a.value, b.value) if op == "and" else fx.k_or(a.value, b.value)
                return Const(float(v), CONDITION, node.pos)
            return Logic(op, a, b, node.pos)
        if op in fx.ARITHMETIC:
            self._want(a, NUMBER, f"`{op}` needs numbers on both sides", node.left)
            self._want(b, NUMBER, f"`{op}` needs numbers on both sides", node.right)
            if isinstance(a, Const) and isinstance(b, Const):
                v = float(fx.ARITHMETIC[op](np.float64(a.value), np.float64(b.value)))
                return Const(v, NUMBER, node.pos)
            return Arith(op, a, b, node.pos)
        # comparisons
        if op in ("==", "!=") and (a.kind == TEXT or b.kind == TEXT):
            if a.kind != TEXT or b.kind != TEXT:
                other = node.right if a.kind == TEXT else node.left
                raise RuleError(
                    f"`{op}` compares text with text, but this is {KIND_LABEL[(b if a.kind == TEXT else a).kind]}",
                    _start(other),
                    ["text in quotes"],
                )
            if isinstance(a, Const) and isinstance(b, Const):
                same = a.value == b.value
                return Const(float(same if op == "==" else not same), CONDITION, node.pos)
            return Compare(op, a, b, node.pos)
        for side, e in ((node.left, a), (node.right, b)):
            if e.kind != NUMBER:
                msg = f"`{op}` compares numbers, but this is {KIND_LABEL[e.kind]}"
                if e.kind == TEXT and op not in ("==", "!="):
                    msg = f"`{op}` compares numbers; text can only be compared with == or !="
                raise RuleError(msg, _start(side), [KIND_LABEL[NUMBER]])
        if isinstance(a, Const) and isinstance(b, Const):
            v = float(fx.compare(op, np.float64(a.value), np.float64(b.value)))
            return Const(v, CONDITION, node.pos)
        return Compare(op, a, b, node.pos)

    # -- calls
    def _call(self, node: sx.Call, env: dict, depth: int) -> Expr:
        name = node.name
        fn = FUNCTIONS.get(name)
        if fn is None:
            if self.custom is not None and name in self.custom:
                return self._expand(name, node.args, node.pos, env, depth)
            if name in FIELDS:
                raise RuleError(
                    f"`{name}` is a field, not a function: write `{name}` without parentheses",
                    node.pos,
                )
            candidates = list(FUNCTIONS)
            if self.custom is not None:
                candidates += list(self.custom.names())
            raise RuleError(
                f"unknown function `{name}`",
                node.pos,
                suggestion=suggest(name, candidates),
            )
        args = []
        seen_named = False
        for a in node.args:
            if a.name is None and seen_named:
                raise RuleError("a positional argument cannot follow a named one", a.pos)
            seen_named = seen_named or a.name is not None
            args.append((a, self.check(a.value, env, depth)))
        bound = self._bind(fn, node, args)
        series = []
        consts = {}
        for p in fn.params:
            if p.name in bound:
                arg, e = bound[p.name]
                pos = _start(arg.value)
            else:
                arg, e, pos = None, None, node.pos
            if p.kind == SERIES:
                if e is None:
                    e = FieldRef(p.default, NUMBER, node.pos)
                if e.kind != NUMBER:
                    raise RuleError(
                        f"argument `{p.name}` of {fn.name}() must be a number series, but this is {KIND_LABEL[e.kind]}",
                        pos,
                        [KIND_LABEL[NUMBER]],
                    )
                series.append(e)
            else:
                if e is None:
                    v = float(p.default)
                    consts[p.name] = int(v) if p.kind == WINDOW else v
                    continue
                consts[p.name] = self._constant(fn, p, e, pos)
        if fn.validate is not None:
            problem = fn.validate(consts)
            if problem:
                raise RuleError(f"{fn.name}(): {problem}", node.pos, [fn.signature()])
        return Call(fn, series, consts, node.pos)

    def _constant(self, fn, p, e: Expr, pos: int) -> float:
        if not isinstance(e, Const) or e.kind != NUMBER:
            what = "window length" if p.kind == WINDOW else "value"
            raise RuleError(
                f"argument `{p.name}` of {fn.name}() is a {what} and must be a number written in the formula (like 14)",
                pos,
                ["a number"],
            )
        v = float(e.value)
        if p.kind == WINDOW:
            if not (math.isfinite(v) and v.is_integer() and p.lo <= v <= p.hi):
                raise RuleError(
                    f"window length `{p.name}` of {fn.name}() must be a whole number from "
                    f"{_fmt(p.lo)} to {_fmt(p.hi)}, got {_fmt(v) if math.isfinite(v) else v}",
                    pos,
                    [f"a whole number from {_fmt(p.lo)} to {_fmt(p.hi)}"],
                )
            return int(v)
        if not (math.isfinite(v) and p.lo <= v <= p.hi):
            raise RuleError(
                f"`{p.name}` of {fn.name}() must be from {_fmt(p.lo)} to {_fmt(p.hi)}, got {v:g}",
                pos,
                [f"a number from {_fmt(p.lo)} to {_fmt(p.hi)}"],
            )
        if p.name == "digits" and not v.is_integer():
            raise RuleError(f"`digits` of {fn.name}() must be a whole number", pos)
        return v

    def _bind(self, fn, node: sx.Call, args) -> dict:
        params = fn.params
        bound: dict = {}
        i = 0
        for arg, e in args:
            if arg.name is not None:
                continue
            while i < len(params):
                p = params[i]
                if (
                    p.kind == SERIES
                    and not p.required
                    and isinstance(e, Const)
                    and e.kind == NUMBER
                    and any(q.kind != SERIES for q in params[i + 1 :])
                ):
                    i += 1  # rsi(14): the series takes its default, 14 is the window
                    continue
                break
            if i >= len(params):
                raise RuleError(
                    f"too many arguments for {fn.name}(): it takes {fn.signature()}",
                    arg.pos,
                    [fn.signature()],
                )
            bound[params[i].name] = (arg, e)
            i += 1
        for arg, e in args:
            if arg.name is None:
                continue
            p = fn.param(arg.name)
            if p is None:
                raise RuleError(
                    f"{fn.name}() has no argument `{arg.name}`",
                    arg.pos,
                    [fn.signature()],
                    suggest(arg.name, [q.name for q in params]),
                )
            if p.name in bound:
                raise RuleError(f"argument `{p.name}` of {fn.name}() is given twice", arg.pos)
            bound[p.name] = (arg, e)
        for p in params:
            if p.required and p.name not in bound:
                raise RuleError(
                    f"{fn.name}() is missing argument `{p.name}`",
                    node.pos,
                    [fn.signature()],
                )
        return bound

    # -- custom indicators
    def _expand(self, name, args, pos, env, depth) -> Expr:
        custom = self.custom
        definition = custom.get(name)
        if name in self.stack:
            chain = " → ".join(self.stack[self.stack.index(name) :] + [name])
            raise RuleError(f"custom indicator `{name}` calls itself ({chain})", pos)
        if len(self.stack) >= MAX_CUSTOM_NESTING:
            raise RuleError(f"custom indicators are nested more than {MAX_CUSTOM_NESTING} deep", pos)
        if definition.error is not None:
            raise RuleError(f"custom indicator `{name}` is invalid: {definition.error.message}", pos)
        values = {p: d for p, d, _ in definition.params}
        given = set()
        names = [p for p, _, _ in definition.params]
        i = 0
        for a in args:
            e = self.check(a.value, env, depth)
            if not isinstance(e, Const) or e.kind != NUMBER:
                raise RuleError(
                    f"arguments of custom indicator `{name}` must be numbers written in the formula (like 20)",
                    _start(a.value),
                    ["a number"],
                )
            if a.name is None:
                if i >= len(names):
                    raise RuleError(
                        f"too many arguments for {name}(): it takes {definition.signature()}",
                        a.pos,
                        [definition.signature()],
                    )
                target = names[i]
                i += 1
            else:
                if a.name not in values:
                    raise RuleError(
                        f"{name}() has no argument `{a.name}`",
                        a.pos,
                        [definition.signature()],
                        suggest(a.name, names),
                    )
                target = a.name
            if target in given:
                raise RuleError(f"argument `{target}` of {name}() is given twice", a.pos)
            given.add(target)
            values[target] = float(e.value)
        self.stack.append(name)
        try:
            return self.check(definition.body, values, depth)
        except RuleError as err:
            detail = err.message
            if detail.startswith(_IN_CUSTOM):  # report only the outermost custom indicator
                detail = detail.split("`: ", 1)[1]
            raise RuleError(
                f"{_IN_CUSTOM}{name}`: {detail}",
                pos,
                err.expected,
                err.suggestion,
            ) from None
        finally:
            self.stack.pop()


def check_rule(node: sx.Node, custom=None, expect: str | None = None) -> Expr:
    """Check a parsed rule; ``expect`` is ``"condition"``, ``"number"`` or ``None`` (either)."""
    e = Checker(custom).check(node)
    if e.kind == TEXT:
        raise RuleError(
            'the formula gives text; compare it, e.g. sector == "Technology"',
            _start(node),
            [KIND_LABEL[CONDITION], KIND_LABEL[NUMBER]],
        )
    if expect is not None and e.kind != expect:
        hint = " (add a comparison such as `> 0`)" if expect == CONDITION else ""
        raise RuleError(
            f"expected {KIND_LABEL[expect]}, but the formula gives {KIND_LABEL[e.kind]}{hint}",
            _start(node),
            [KIND_LABEL[expect]],
        )
    return e

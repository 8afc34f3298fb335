"""Custom indicators: named, parameterised formulas callable from other formulas.

A definition reads ``name(param=default, ...) = expression``, for example
``my_osc(n=14) = (close - sma(close, n)) / atr(n)``; it is then used as ``my_osc(20) > 1.5``.
Parameters are numbers fixed when the calling rule is compiled (so they can be window
lengths); every parameter needs a default.  Calls are expanded inline by the checker, so a
custom indicator costs nothing extra at evaluation time and shares cached sub-expressions.

:class:`CustomIndicatorSet` is the registry handed to :func:`app.rules.compile_rule`
(``custom=``).  The journal domain stores definitions per user and builds the set from them;
a stored definition that became invalid (for example a custom indicator it calls was deleted)
is reported by :meth:`CustomIndicatorSet.problems` and gives a :class:`RuleError` when used,
never a crash.  Recursion and cycles (``a`` calls ``b`` calls ``a``) are detected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from app.rules import syntax as sx
from app.rules.errors import RuleError
from app.rules.fields import FIELDS
from app.rules.functions import FUNCTIONS

MAX_PARAMS = 10
RESERVED = {"and", "or", "not", "in"}


@dataclass(frozen=True, eq=False)
class CustomIndicator:
    name: str
    params: tuple[tuple[str, float, int], ...]  # (name, default, position)
    body: sx.Node | None
    text: str
    error: RuleError | None = None  # set when a stored definition no longer parses

    def signature(self) -> str:
        def fmt(v):
            return str(int(v)) if float(v).is_integer() else repr(v)

        return f"{self.name}({', '.join(f'{p}={fmt(d)}' for p, d, _ in self.params)})"

    def calls(self) -> set[str]:
        """Names of all functions called in the body (built-in or custom)."""
        out: set[str] = set()
        stack = [self.body] if self.body is not None else []
        while stack:
            n = stack.pop()
            if isinstance(n, sx.Call):
                out.add(n.name)
                stack.extend(a.value for a in n.args)
            elif isinstance(n, sx.Name):
                out.add(n.name)
            elif isinstance(n, sx.Binary):
                stack += [n.left, n.right]
            elif isinstance(n, (sx.Unary, sx.In)):
                stack.append(n.operand)
        return out


def parse_definition(text: str) -> CustomIndicator:
    """Parse ``name(p=default, ...) = expression`` -> :class:`CustomIndicator`.

    Only the definition's own syntax is checked here; its body is type-checked against a
    :class:`CustomIndicatorSet` (which knows the other custom indicators it may call).
    """
    d = sx.parse_definition_syntax(text)
    name = d.name
    if name in FUNCTIONS:
        raise RuleError(f"`{name}` is a built-in function; choose another name", d.pos)
    if name in FIELDS:
        raise RuleError(f"`{name}` is a field; choose another name", d.pos)
    if len(d.params) > MAX_PARAMS:
        raise RuleError(f"a custom indicator takes at most {MAX_PARAMS} parameters", d.pos)
    seen = set()
    params = []
    for pname, default, pos in d.params:
        if pname in seen:
            raise RuleError(f"parameter `{pname}` appears twice", pos)
        if pname in FIELDS or pname in FUNCTIONS or pname == name:
            raise RuleError(
                f"parameter `{pname}` has the name of a field or function; choose another",
                pos,
            )
        if default is None:
            raise RuleError(
                f"parameter `{pname}` needs a default value, e.g. {pname}=14",
                pos,
                ["`=`"],
            )
        seen.add(pname)
        params.append((pname, float(default), pos))
    return CustomIndicator(name, tuple(params), d.body, text)


class CustomIndicatorSet:
    """An immutable set of custom indicators (one user's, typically).

    Build it from :class:`CustomIndicator` objects or definition texts.  Texts that do not
    parse are kept (as invalid entries, reported by :meth:`problems`) when
    ``keep_invalid=True`` -- that is what loading stored definitions should do -- and raise
    :class:`RuleError` otherwise.
    """

    def __init__(self, definitions: Iterable[CustomIndicator | str] = (), keep_invalid=False):
        self._defs: dict[str, CustomIndicator] = {}
        for d in definitions:
            if isinstance(d, str):
                try:
                    d = parse_definition(d)
                except RuleError as e:
                    if not keep_invalid:
                        raise
                    name = d.split("(", 1)[0].split("=", 1)[0].strip().lower() or "?"
                    d = CustomIndicator(name, (), None, d, e)
            if d.name in self._defs:
                raise RuleError(f"custom indicator `{d.name}` is defined twice")
            self._defs[d.name] = d
        digest = hashlib.sha256()
        for name in sorted(self._defs):
            digest.update(self._defs[name].text.encode("utf-8", "surrogatepass") + b"\0")
        #: part of compiled-rule cache keys: changes whenever any definition changes
        self.version = digest.hexdigest()

    def __contains__(self, name: str) -> bool:
        return name in self._defs

    def __len__(self) -> int:
        return len(self._defs)

    def __iter__(self):
        return iter(self._defs.values())

    def names(self) -> list[str]:
        return list(self._defs)

    def get(self, name: str) -> CustomIndicator:
        return self._defs[name]

    def with_definition(self, definition: CustomIndicator | str) -> CustomIndicatorSet:
        d = parse_definition(definition) if isinstance(definition, str) else definition
        others = [x for x in self._defs.values() if x.name != d.name]
        return CustomIndicatorSet([*others, d], keep_invalid=True)

    def without(self, name: str) -> CustomIndicatorSet:
        return CustomIndicatorSet([x for x in self._defs.values() if x.name != name], keep_invalid=True)

    def check(self, name: str):
        """Type-check one definition (with its defaults) in the context of this set.

        Returns the kind it produces (``"number"`` or ``"condition"``); raises RuleError."""
        from app.rules.checker import (
            Checker,
        )  # late import: checker uses this module's types

        d = self._defs[name]
        if d.error is not None:
            raise d.error
        checker = Checker(self)
        checker.stack.append(name)
        e = checker.check(d.body, {p: v for p, v, _ in d.params})
        if e.kind == "text":
            raise RuleError(
                f"custom indicator `{name}` gives text; it must give a number or a condition",
                d.body.pos,
            )
        return e.kind

    def problems(self) -> dict[str, RuleError]:
        """Every invalid definition (syntax, unknown names, cycles, missing dependencies)."""
        out = {}
        for name in self._defs:
            try:
                self.check(name)
            except RuleError as e:
                out[name] = e
        return out

"""Compiler and evaluator: text -> checked tree -> plan of numpy steps -> results.

``compile_rule(text)`` parses, checks and plans a rule, caching the result by
``(text, expected kind, FUNCTION_LIBRARY_VERSION, custom indicator set version)`` so evaluating
thousands of stored alert rules every minute never re-parses them.  Invalid texts are cached
too (their :class:`RuleError` is raised again).

The plan is the checked tree flattened in evaluation order with common sub-expressions merged.
Each step knows how many trailing bars it must produce:

* cross-section mode (screener, alerts) needs only the **last** bar of the root, so a step
  ``sma(close, 50)`` only touches the last 50 bars, ``crosses_above`` the last 2, and the
  elementwise steps work on one column -- while recursive indicators (EMA, RSI, ATR, MACD) use
  the whole history they were given;
* time-series mode (strategies, backtests, indicator plots) produces every bar.

Both modes run the very same step implementations on the same bars, so they agree on the
last bar exactly: window sums are computed from the window's own values only, never from a
running total that depends on where the array starts (see :mod:`app.market.indicators`).
Recursive indicators depend on where their history starts (TA-Lib seeds them with a mean of
the first values): :meth:`CompiledRule.history_bars` is the history a rule must be given so
that its last value equals the full-history (time-series, backtest) value to within
``app.rules.functions.CONVERGENCE`` -- the screener and the alerts size their data with it.
Step results are memoised in ``SeriesData.cache`` keyed by (structural key, bars), so the same
sub-expression in many rules evaluated on one data batch is computed once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

import numpy as np

from app.rules.checker import BIG, KIND_LABEL, Expr, FieldRef, check_rule
from app.rules.data import SeriesData
from app.rules.errors import RuleError
from app.rules.functions import CONDITION, FUNCTION_LIBRARY_VERSION, NUMBER
from app.rules.syntax import parse

log = logging.getLogger(__name__)

CROSS_SECTION = "cross_section"
TIME_SERIES = "time_series"
MODES = (CROSS_SECTION, TIME_SERIES)

#: default evaluation time limit of one rule on one data batch (seconds)
EVAL_TIME_LIMIT = 10.0
CACHE_SIZE = 20_000
_SMALL = 100_000  # elementwise results up to this size are memoised too


class CompiledRule:
    """A checked, planned rule.  Immutable and safe to share between threads."""

    def __init__(self, text: str, root: Expr):
        self.text = text
        self.root = root
        self.kind: str = root.kind  # "condition" | "number"
        steps: list[Expr] = []
        index: dict[str, int] = {}
        children: list[tuple[int, ...]] = []
        fields = set()

        # post-order walk merging equal sub-expressions; recursion is bounded by the checker's
        # MAX_EXPANDED_DEPTH (200), far below Python's limit
        def visit(node: Expr) -> int:
            at = index.get(node.key)
            if at is not None:
                return at
            kids = tuple([visit(c) for c in node.children])
            at = index[node.key] = len(steps)
            steps.append(node)
            children.append(kids)
            if type(node) is FieldRef:
                fields.add(node.name)
            return at

        visit(root)
        self.steps = tuple(steps)
        self.children = tuple(children)
        self.fields = tuple(sorted(fields))
        self._needs: dict[str, tuple[int, ...]] = {}

    def needs(self, mode: str) -> tuple[int, ...]:
        """Trailing bars each step must produce in ``mode`` (computed once per mode)."""
        got = self._needs.get(mode)
        if got is None:
            got = self._needs[mode] = self._plan(1 if mode == CROSS_SECTION else BIG)
        return got

    def _plan(self, root_need: int, warm: bool = False) -> tuple[int, ...]:
        need = [0] * len(self.steps)
        need[-1] = root_need
        for i in range(len(self.steps) - 1, -1, -1):
            step = self.steps[i]
            extra = step.warmup() if warm else step.lookback()
            for j in self.children[i]:
                need[j] = max(need[j], min(BIG, need[i] + extra))
        return tuple(need)

    def history_needs(self) -> tuple[int, ...]:
        """Per step: trailing bars it must be computed over so the rule's last value equals
        its full-history value (recursive indicators get their finite warm-up)."""
        got = self._needs.get("history")
        if got is None:
            got = self._needs["history"] = self._plan(1, warm=True)
        return got

    def history_bars(self) -> int:
        """Bars of history (ending with the evaluated bar) the rule must be given for its
        cross-section value to equal its value over the whole history: window lengths plus,
        for recursive indicators, TA-Lib's lookback and unstable period (nested calls add
        up). 1 for a rule that reads only the last bar."""
        return max(self.history_needs())

    @property
    def kind_label(self) -> str:
        return KIND_LABEL[self.kind]

    def evaluate(
        self,
        data: SeriesData,
        mode: str = CROSS_SECTION,
        time_limit: float | None = None,
    ) -> np.ndarray:
        """Evaluate on ``data``.

        cross-section: shape ``(n_symbols,)`` -- the value at the last bar of every symbol;
        time series: shape ``(n_symbols, n_bars)``.  Conditions come back as ``bool`` arrays
        where unknown (warm-up NaN, missing data, division by zero) is ``False``; numbers as
        ``float64`` with NaN where unknown.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        limit = EVAL_TIME_LIMIT if time_limit is None else time_limit
        deadline = time.perf_counter() + limit
        needs = self.needs(mode)
        n_bars = data.n_bars
        n_symbols = data.n_symbols
        memo = data.cache
        results: list = [None] * len(self.steps)
        with np.errstate(all="ignore"):
            for i, step in enumerate(self.steps):
                width = min(needs[i], n_bars)
                key = (step.key, width)
                r = memo.get(key)
                if r is None:
                    r = step.compute([results[j] for j in self.children[i]], width, data, n_symbols)
                    if step.memoise or np.size(r) <= _SMALL:
                        memo[key] = r
                results[i] = r
                if time.perf_counter() > deadline:
                    raise RuleError(f"evaluating the formula took longer than {limit:g} s")
        out = results[-1]
        out = np.asarray(out, dtype=np.float64)
        if mode == CROSS_SECTION:
            out = np.broadcast_to(out, (n_symbols, out.shape[-1] if out.ndim == 2 else 1))
            out = out[:, -1]
        else:
            out = np.broadcast_to(out, (n_symbols, n_bars))
        if self.kind == CONDITION:
            return out == 1.0
        return np.array(out, dtype=np.float64)

    def __repr__(self) -> str:
        return f"<CompiledRule {self.kind}: {self.text!r}>"


class _LRU:
    def __init__(self, size: int):
        self.size = size
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key, value):
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)

    def clear(self):
        with self._lock:
            self._d.clear()

    def __len__(self):
        return len(self._d)


_cache = _LRU(CACHE_SIZE)


def clear_cache() -> None:
    _cache.clear()


def compile_rule(text: str, expect: str | None = None, custom=None) -> CompiledRule:
    """Compile a rule text (cached).

    ``expect``: ``"condition"`` (screens, alerts, entry/exit rules), ``"number"`` (custom
    indicator plots, screener columns) or ``None`` (either).  ``custom``: a
    :class:`~app.rules.custom.CustomIndicatorSet` the rule may call.

    Returns a :class:`CompiledRule` or raises :class:`RuleError` -- for any input at all.
    """
    if expect not in (None, CONDITION, NUMBER):
        raise ValueError("expect must be 'condition', 'number' or None")
    key = (
        text,
        expect,
        FUNCTION_LIBRARY_VERSION,
        custom.version if custom is not None else None,
    )
    try:
        hit = _cache.get(key)
    except TypeError:  # unhashable "text"
        raise RuleError("the formula must be text") from None
    if hit is not None:
        if isinstance(hit, RuleError):
            raise hit
        return hit
    try:
        result = CompiledRule(text, check_rule(parse(text), custom, expect))
    except RuleError as e:
        _cache.put(key, e)
        raise
    except RecursionError:
        e = RuleError("the formula is nested too deeply")
        _cache.put(key, e)
        raise e from None
    except Exception:  # a bug must still surface as a RuleError to the user, and be logged
        log.exception("internal error compiling rule %r", text)
        raise RuleError("internal error while checking the formula") from None
    _cache.put(key, result)
    return result


def check(text: str, expect: str | None = None, custom=None) -> dict:
    """Validation verdict for forms: ``{"ok": True, "kind": ...}`` or the error's fields."""
    try:
        rule = compile_rule(text, expect, custom)
    except RuleError as e:
        return {"ok": False, **e.to_dict()}
    return {"ok": True, "kind": rule.kind, "kind_label": rule.kind_label}


def evaluate_many(rules, data: SeriesData, mode: str = CROSS_SECTION, time_limit: float | None = None) -> list:
    """Evaluate several compiled rules on one data batch (sharing sub-expression results).

    Returns one result per rule: an array, or the :class:`RuleError` it raised (one bad rule
    does not stop the others)."""
    out = []
    for rule in rules:
        try:
            out.append(rule.evaluate(data, mode, time_limit))
        except RuleError as e:
            out.append(e)
    return out

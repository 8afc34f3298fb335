"""The data a rule is evaluated on.

:class:`SeriesData` holds, for one set of symbols:

* ``fields`` -- numeric fields (see :mod:`app.rules.fields`) as float arrays, either
  2-D ``(n_symbols, n_bars)`` (time on the last axis, oldest first, newest bar last) or
  1-D ``(n_symbols,)`` for per-stock values that do not vary over the bars in question
  (``market_cap``, a snapshot's ``rel_volume``...); 1-D values behave as constant over time.
* ``text`` -- text fields (``sector``, ``industry``, ``exchange``) as 1-D arrays of strings,
  one per symbol; ``None``/``""`` means unknown.

Build it once per batch (one screener run, one alert cycle, one backtest) and evaluate all
rules against it: the object memoises intermediate results (``sma(close, 50)`` is computed
once for all the rules that use it).  Do not mutate the arrays afterwards.

Two evaluation modes (see :meth:`app.rules.compiler.CompiledRule.evaluate`):

* cross-section -- the screener/alerts case: 2-D arrays of the recent bars (as many as the
  rules' :meth:`~app.rules.compiler.CompiledRule.history_bars`: their windows, plus the
  warm-up of recursive indicators) and the result for the **last** bar of every symbol;
* time series -- the strategies/backtests case: the full history, and the result for every bar.

Numeric fields missing from ``fields`` are derived from the bars when the field table says
how (``price``, ``change_pct``, ``rsi14``, ``sma50``...); a field that is neither given nor
derivable makes evaluation raise :class:`RuleError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from app.rules.errors import RuleError
from app.rules.fields import FIELDS, NUMBER


class SeriesData:
    def __init__(
        self,
        fields: Mapping[str, np.ndarray],
        text: Mapping[str, Sequence] | None = None,
        symbols: Sequence[str] | None = None,
    ):
        self._fields: dict[str, np.ndarray] = {}
        n_symbols = None
        n_bars = None
        for name, values in fields.items():
            a = np.asarray(values, dtype=np.float64)
            if a.ndim == 2:
                if a.shape[1] == 0:
                    raise ValueError(f"field {name!r} has no bars")
                if n_bars is not None and a.shape[1] != n_bars:
                    raise ValueError(f"field {name!r} has {a.shape[1]} bars, expected {n_bars}")
                n_bars = a.shape[1]
            elif a.ndim != 1:
                raise ValueError(f"field {name!r} must be 1-D or 2-D, got shape {a.shape}")
            if n_symbols is not None and a.shape[0] != n_symbols:
                raise ValueError(f"field {name!r} has {a.shape[0]} symbols, expected {n_symbols}")
            n_symbols = a.shape[0]
            a = a if a.ndim == 2 else a.reshape(-1, 1)
            a.flags.writeable = False
            self._fields[name.lower()] = a
        self._text: dict[str, np.ndarray] = {}
        for name, values in (text or {}).items():
            arr = np.array(["" if v is None else str(v).casefold() for v in values], dtype=str)
            if arr.ndim != 1:
                raise ValueError(f"text field {name!r} must be 1-D")
            if n_symbols is not None and arr.shape[0] != n_symbols:
                raise ValueError(f"text field {name!r} has {arr.shape[0]} symbols, expected {n_symbols}")
            n_symbols = arr.shape[0]
            self._text[name.lower()] = arr.reshape(-1, 1)
        if n_symbols is None:
            n_symbols = len(symbols) if symbols is not None else 0
        self.n_symbols: int = n_symbols
        self.n_bars: int = n_bars if n_bars is not None else 1
        self.symbols = list(symbols) if symbols is not None else None
        if self.symbols is not None and len(self.symbols) != self.n_symbols:
            raise ValueError("symbols and fields disagree on the number of symbols")
        #: memo of intermediate results shared by every rule evaluated on this data
        self.cache: dict = {}

    # ------------------------------------------------------------------ access
    def has(self, name: str) -> bool:
        return name in self._fields or name in self._text

    def number(self, name: str, position: int | None = None) -> np.ndarray:
        """The field as ``(n_symbols, n_bars)`` or ``(n_symbols, 1)`` float array."""
        got = self._fields.get(name)
        if got is not None:
            return got
        key = ("field", name)
        if key in self.cache:
            return self.cache[key]
        spec = FIELDS.get(name)
        if spec is None or spec.kind != NUMBER or spec.derive is None:
            raise RuleError(f"field `{name}` is not available in this data", position)
        try:
            value = np.asarray(spec.derive(lambda other: self.number(other, position)))
        except RuleError:
            raise RuleError(f"field `{name}` is not available in this data", position) from None
        value.flags.writeable = False
        self.cache[key] = value
        return value

    def text(self, name: str, position: int | None = None) -> np.ndarray:
        """The text field as a ``(n_symbols, 1)`` array of case-folded strings."""
        got = self._text.get(name)
        if got is None:
            raise RuleError(f"field `{name}` is not available in this data", position)
        return got

    def __repr__(self) -> str:
        return (
            f"SeriesData({self.n_symbols} symbols x {self.n_bars} bars, "
            f"fields={sorted(self._fields)}, text={sorted(self._text)})"
        )

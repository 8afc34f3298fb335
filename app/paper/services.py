"""The paper-trading ledger: the ONE API that writes accounts, orders, fills, positions,
trades and equity snapshots; nothing outside ``app/paper/`` writes ledger rows. Import
every name from here (``from app.paper import services``); the modules behind it:

* :mod:`app.paper.accounts` - open, list, reset accounts (user and system doors);
* :mod:`app.paper.orders` - validate, risk-check, record, cancel orders; close positions;
* :mod:`app.paper.book` - the fills engine (in-memory book, fill price, bulk write);
* :mod:`app.paper.cycle` - the 1-minute order check, expiry, end-of-day equity snapshots;
* :mod:`app.paper.valuation` - the one mark-to-market rule (account page and snapshots);
* :mod:`app.paper.queries` - read models (trades, stats, equity series, orders, fills);
* :mod:`app.paper.common` - constants, rounding, the clock, the account lock.

Two doors (the leaderboard's integrity depends on them):

* **User API** - :func:`place_order`, :func:`cancel_order`, :func:`close_position`,
  :func:`reset_account`, :func:`get_account`, ... take the acting user and an account id
  and reach only that user's own *unmanaged* accounts (anything else: NotFound).
* **System API** - :func:`open_managed_account`, :func:`place_system_order`,
  :func:`cancel_system_order`, :func:`close_system_position`, :func:`reset_managed` take a
  *managed* account (one a strategy's forward tracking, or copy trading, runs) and refuse
  the others. Same checks, same fills: only the door differs.

Rules (PRODUCT.md section 4):

* **Fills happen here only**, at the 1-minute snapshot price, ``price x (1 + bps/10,000)``
  for buy/cover and ``x (1 - bps/10,000)`` for sell/short (against the trader; a limit
  order never fills worse than its limit), plus the account's per-order commission. No
  caller ever passes a fill price.
* **Market orders** are executed at once when the market is open (``MarketClock``, which
  honours ``MARKET_CLOCK=always-open`` for the simulated provider) and the snapshot is
  fresh (``as_of`` at most ``PAPER_QUOTE_MAX_AGE`` seconds old, default 180). When the
  market is closed they wait (status ``open``) and fill in the first cycle after the open.
  When the market is open but the quote is stale, the order is refused (nothing written)
  with a message saying so. Limit/stop orders placed while open and fresh are checked
  against the snapshot at once too, then every cycle.
* **Risk**: position size cap per symbol (default 25 % of equity, checked when an order
  opens or adds to a position, at the order's reference price); buying power
  ``= cash - 150 % x |short market value|`` (Reg-T style 50 % initial margin: a long costs
  its full value, a short of value V needs V/2 of buying power; sells and covers never
  need buying power). Longs can never go below 0 shares; a position never flips sides in
  one order (sell/cover close, buy/short open).
* **Refusals** at placement raise :class:`InvalidInput` (field + message) and write
  nothing. An order accepted earlier that cannot fill when triggered (cash spent
  meanwhile, position gone) becomes ``rejected`` with the reason.
* **Brackets**: an entry with take-profit and/or stop-loss creates its exit legs as
  ``pending`` children; when the entry fills they become ``open`` as an OCO pair (one
  fills, the other is cancelled; if both trigger in one cycle the stop-loss wins).
* **Concurrency**: every ledger write locks the account first (``SELECT ... FOR UPDATE``
  on PostgreSQL; on SQLite a no-op ``UPDATE`` that takes the database write lock), then
  writes cash with a compare-and-swap ``UPDATE ... WHERE version = :read_version``, so two
  orders on one account can never spend the same cash.
* **Accounting**: positions keep an exact ``cost_basis``; closing shares realise
  ``proceeds - basis share - fees`` into a :class:`Trade` and ``realised_pnl``, so
  ``equity = cash + sum(qty x mark) = start + realised + unrealised - open fees`` exactly.
* **Valuation**: one mark (the snapshot price rounded to 4 decimals, else the average
  price) and one ``qty x mark`` per position, for the account page, the buying-power and
  cap checks and the end-of-day equity snapshots alike (:mod:`app.paper.valuation`).
"""
from __future__ import annotations

from app.paper.accounts import (
    get_account,
    list_accounts,
    managed_account,
    open_account,
    open_managed_account,
    owned_account,
    reset_account,
    reset_managed,
)
from app.paper.book import Book, PosState, check_money, check_side, execute, fill_price, load_books, persist
from app.paper.common import (
    BUY_SIDES,
    DEFAULT_BALANCE,
    MAX_BALANCE,
    Q4,
    SHORT_MAINTENANCE,
    SHORT_MARGIN,
    ZERO,
    clock,
    dec,
    lock_accounts,
    max_quote_age,
    money,
    q4,
    session_for,
)
from app.paper.cycle import expire_day_orders, process, process_open_orders, snapshot_equity, triggers
from app.paper.orders import (
    Quote,
    Ticket,
    cancel_order,
    cancel_system_order,
    close_position,
    close_system_position,
    place_order,
    place_system_order,
)
from app.paper.queries import (
    WINDOWS,
    equity_series,
    orders,
    recent_fills,
    search_symbols,
    since,
    trade_stats,
    trades,
)
from app.paper.valuation import PositionView, Summary, account_summary, account_values, mark, market_value

# the names the module had before it was split (callers and tests use some of them)
_clock = clock
_lock_accounts = lock_accounts
_load_books = load_books
_money = money
_owned_account = owned_account
_since = since

__all__ = [
    "BUY_SIDES", "Book", "DEFAULT_BALANCE", "MAX_BALANCE", "PosState", "PositionView", "Q4", "Quote",
    "SHORT_MAINTENANCE", "SHORT_MARGIN", "Summary", "Ticket", "WINDOWS", "ZERO", "account_summary",
    "account_values", "cancel_order", "cancel_system_order", "check_money", "check_side", "clock",
    "close_position", "close_system_position", "dec", "equity_series", "execute", "expire_day_orders",
    "fill_price", "get_account", "list_accounts", "load_books", "lock_accounts", "managed_account", "mark",
    "market_value", "max_quote_age", "money", "open_account", "open_managed_account", "orders",
    "owned_account", "persist", "place_order", "place_system_order", "process", "process_open_orders", "q4",
    "recent_fills", "reset_account", "reset_managed", "search_symbols", "session_for", "since",
    "snapshot_equity", "trade_stats", "trades", "triggers",
]

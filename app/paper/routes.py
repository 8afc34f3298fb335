"""The /paper pages: accounts, the account page (ticket, live positions and orders,
trades, equity curve) and its fragments. Thin views: parse, one service call, render."""
from __future__ import annotations

import secrets

from flask import flash, jsonify, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import InvalidInput, NotFound
from app.htmx import hx_trigger, is_htmx, redirect, render_view, submit_form, versioned_fragment
from app.paper import bp, services
from app.paper.forms import AccountForm, OrderForm, ResetForm

TRADES_SHOWN = 100


def _user():
    return current_user._get_current_object()


def _fresh_ticket(**defaults) -> OrderForm:
    form = OrderForm(formdata=None, **defaults)
    form.idempotency_key.data = secrets.token_urlsafe(16)
    return form


@bp.get("")
@login_required
def index():
    accounts = services.list_accounts(_user())
    summaries = [services.account_summary(a) for a in accounts]
    return render_template("paper/index.html", summaries=summaries, form=AccountForm(formdata=None))


@bp.post("/accounts")
@login_required
def create():
    form = AccountForm()

    def done(account):
        flash(f"Account “{account.name}” opened with ${account.starting_balance:,.2f}.", "success")
        return redirect(url_for("paper.account", account_id=account.id))

    # a plan limit is the error handler's 403 (usage and a link to the plans)
    return submit_form(form, lambda: services.open_account(
        _user(), form.name.data, form.starting_balance.data or "100000", allow_short=form.allow_short.data,
        slippage_bps=form.slippage_bps.data or "5", commission=form.commission.data or "0"),
        done, page="paper/new.html", partial="paper/_account_form.html")


def _account_context(account, form=None):
    summary = services.account_summary(account)
    trades = services.trades(account, "all", limit=TRADES_SHOWN)
    stats = services.trade_stats(account, "all")
    return {
        "account": account, "s": summary, "trades": trades, "stats": stats,
        "open_orders": services.orders(account, live=True),
        "done_orders": services.orders(account, live=False, limit=20),
        "fills": services.recent_fills(account, 10),
        "form": form or _fresh_ticket(),
        "market_open": services.clock().is_open(),
    }


TICKET_SIDES = ("buy", "sell", "short", "cover")


def _ticket_from_args(acct) -> OrderForm | None:
    """A ticket pre-filled from ?symbol=&side= (the stock page's Buy / Sell), else None.
    Selling (or covering) a symbol the account holds pre-fills the whole position."""
    symbol = request.args.get("symbol", "").strip().upper()[:12]
    if not symbol:
        return None
    side = request.args.get("side", "buy")
    form = _fresh_ticket(symbol=symbol, side=side if side in TICKET_SIDES else "buy")
    if form.side.data in ("sell", "cover"):
        held = next((p.qty for p in services.account_summary(acct).positions if p.symbol == symbol), 0)
        if (held > 0) == (form.side.data == "sell") and held:
            form.qty.data = str(abs(held))
    return form


@bp.get("/<int:account_id>")
@login_required
def account(account_id: int):
    acct = services.get_account(_user(), account_id)
    return render_template("paper/account.html", **_account_context(acct, _ticket_from_args(acct)))


@bp.get("/trade")
@login_required
def trade():
    """Buy / Sell from a stock page: the chosen (else the first) account's ticket, pre-filled."""
    symbol = request.args.get("symbol", "").strip().upper()[:12]
    side = request.args.get("side", "buy")
    side = side if side in TICKET_SIDES else "buy"
    chosen = request.args.get("account", "")
    if chosen:
        acct = services.get_account(_user(), _int_arg(chosen))
    else:
        accounts = services.list_accounts(_user())
        if not accounts:
            flash("Open a paper account first; then the ticket opens with the symbol filled in.", "info")
            return redirect(url_for("paper.index"))
        acct = accounts[0]
    return redirect(url_for("paper.account", account_id=acct.id, symbol=symbol or None, side=side,
                            _anchor="ticket"))


def _int_arg(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise NotFound("No such paper account.")
    return int(value)


@bp.get("/<int:account_id>/estimate")
@login_required
def estimate(account_id: int):
    """The ticket's live estimate (quote, cost, buying power left, position cap); re-requested
    as the trader types. Prices come from the server; the fragment is advisory only."""
    from app.paper.estimate import estimate_order

    a = request.args
    est = estimate_order(_user(), account_id, symbol=a.get("symbol", ""), side=a.get("side", "buy"),
                         qty=a.get("qty"), amount=a.get("amount"), type=a.get("type", "market"),
                         limit_price=a.get("limit_price"), stop_price=a.get("stop_price"))
    return render_template("paper/_estimate.html", e=est)


def _live_etag(acct) -> str:
    from app.market.services import snapshot_version

    return f"paper-{acct.id}-{acct.version}-{snapshot_version()}"


@bp.get("/<int:account_id>/live")
@login_required
def live(account_id: int):
    """The polled region: balances, positions marked to market, open orders."""
    acct = services.get_account(_user(), account_id)
    return versioned_fragment(_live_etag(acct), lambda: render_template("paper/_live.html", **_account_context(acct)))


@bp.post("/<int:account_id>/orders")
@login_required
def place(account_id: int):
    acct = services.get_account(_user(), account_id)
    form = OrderForm()

    def done(order):
        message = _order_message(order)
        if not is_htmx():
            flash(message, "success")
            return redirect(url_for("paper.account", account_id=acct.id))
        fresh = _fresh_ticket(symbol=order.stock.symbol)
        response = render_view("paper/account.html", "paper/_ticket.html", account=acct, form=fresh, placed=message)
        return hx_trigger(response, "paper-order-placed")

    # a refused order (conflict included) is shown in the ticket like any other refusal: 422;
    # HTMX swaps just the ticket, a plain post gets the whole account page back
    return submit_form(form, lambda: services.place_order(
        _user(), acct.id, symbol=form.symbol.data, side=form.side.data, qty=form.qty.data,
        amount=form.amount.data, type=form.type.data, limit_price=form.limit_price.data,
        stop_price=form.stop_price.data, tif=form.tif.data, take_profit=form.take_profit.data,
        stop_loss=form.stop_loss.data, idempotency_key=form.idempotency_key.data), done,
        page="paper/account.html", partial="paper/_ticket.html", conflict_status=422, account=acct,
        context_fn=lambda: {} if is_htmx() else _account_context(acct, form))


def _order_message(order) -> str:
    sym = order.stock.symbol
    label = order.type.replace("_", "-")
    if order.status == "filled":
        return f"Filled: {order.side} {order.qty} {sym} at ${order.fill_price:,.2f}."
    return f"Order placed: {order.side} {order.qty} {sym} ({label}); it will be checked every minute while the market is open."


@bp.post("/orders/<int:order_id>/cancel")
@login_required
def cancel(order_id: int):
    order = services.cancel_order(_user(), order_id)
    flash(f"Order #{order.id} cancelled.", "success")
    return redirect(url_for("paper.account", account_id=order.account_id))


@bp.post("/<int:account_id>/positions/<int:stock_id>/close")
@login_required
def close(account_id: int, stock_id: int):
    acct = services.get_account(_user(), account_id)
    try:
        order = services.close_position(_user(), acct.id, stock_id=stock_id)
    except InvalidInput as exc:
        flash(exc.message, "error")
    else:
        flash(_order_message(order), "success")
    return redirect(url_for("paper.account", account_id=acct.id))


@bp.route("/<int:account_id>/reset", methods=["GET", "POST"])
@login_required
def reset(account_id: int):
    acct = services.get_account(_user(), account_id)
    form = ResetForm()

    def confirmed_reset():
        if form.confirm.data != acct.name:
            raise InvalidInput(f"Type “{acct.name}” exactly to confirm.", field="confirm")
        return services.reset_account(_user(), acct.id, form.starting_balance.data or None)

    def done(_):
        flash(f"“{acct.name}” was reset to ${acct.starting_balance:,.2f}.", "success")
        return redirect(url_for("paper.account", account_id=acct.id))

    return submit_form(form, confirmed_reset, done, page="paper/reset.html", account=acct)


@bp.get("/<int:account_id>/equity.json")
@login_required
def equity_data(account_id: int):
    acct = services.get_account(_user(), account_id)
    window = request.args.get("window", "all")
    try:
        series = services.equity_series(acct, window)
    except InvalidInput as exc:
        return jsonify(error=exc.message), 422
    summary = services.account_summary(acct)
    points = [{"time": p["session"].isoformat(), "value": float(p["equity"])} for p in series]
    return jsonify(account=acct.id, window=window, starting_balance=float(acct.starting_balance),
                   equity=points, current=float(summary.equity))


@bp.get("/symbols")
@login_required
def symbols():
    return render_template("paper/_symbol_options.html", matches=services.search_symbols(request.args.get("symbol", "")))

"""Stock pages, chart data, symbol search and the admin scanners page.

Every view reads what the scanners stored: no request ever calls a market data provider.
"""
from __future__ import annotations

from flask import abort, flash, jsonify, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from app import audit
from app.admin.access import admin_required
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.htmx import add_vary, is_htmx, redirect, render_view, versioned_fragment
from app.market import bp, queries, services
from app.models.market import SCAN_KINDS

RHYTHMS = {"1m": "1-minute quotes", "10m": "10-minute intraday", "1d": "Daily bars & indicators"}


@bp.get("/stocks/search")
@login_required
def search():
    q = request.args.get("q", "").strip()[:40]
    results = queries.search_stocks(q, limit=8 if is_htmx() else 50)
    # Enter in a search box (go=1): an exact symbol, or the only match, opens that stock at once
    if not is_htmx() and request.args.get("go") and results and (results[0].symbol == q.upper() or len(results) == 1):
        return redirect(url_for("market.stock", symbol=results[0].symbol))
    return render_view("market/search.html", "market/_search_results.html", q=q, results=results)


def _not_found(symbol: str):
    body = render_template("market/not_found.html", symbol=queries.normalise_symbol(symbol))
    return add_vary(make_response(body, 404))


@bp.get("/stocks/<symbol>")
@login_required
def stock(symbol: str):
    if symbol != symbol.upper() and queries.stock_view(symbol):
        return redirect(url_for("market.stock", symbol=symbol.upper()), code=301)
    view = queries.stock_view(symbol)
    if view is None:
        return _not_found(symbol)
    return render_template("market/stock.html", v=view, ranges=list(queries.RANGES),
                           simulated=_simulated(view), **_stock_actions())


def _stock_actions() -> dict:
    """The trader's watchlists (for "+ Watch") and paper accounts (for Buy / Sell)."""
    from app.paper.services import list_accounts
    from app.watchlists.services import list_watchlists

    user = current_user._get_current_object()
    return {"watchlists": list_watchlists(user), "accounts": list_accounts(user)}


def _simulated(view) -> bool:
    src = view.snapshot.source if view.snapshot else None
    return src == "simulated" or (src is None and services.provider_is_simulated())


@bp.get("/stocks/<symbol>/quote")
@login_required
def quote(symbol: str):
    """The live quote fragment; polled, answered 304 while the snapshot version is unchanged."""
    version = services.live_version()
    etag = f"snap-{version}-{queries.normalise_symbol(symbol)}" if version is not None else None

    def render() -> str:
        view = queries.stock_view(symbol)
        if view is None:
            abort(404)
        return render_template("market/_quote.html", v=view, simulated=_simulated(view))

    return versioned_fragment(etag, render)


@bp.get("/stocks/<symbol>/chart.json")
@login_required
def chart(symbol: str):
    rng = request.args.get("range", "1Y").upper()
    if rng not in queries.RANGES:
        return jsonify(error=f"range must be one of {', '.join(queries.RANGES)}"), 400
    view = queries.stock_view(symbol)
    if view is None:
        return jsonify(error=f"unknown symbol {queries.normalise_symbol(symbol)}"), 404
    return jsonify(queries.chart_data(view.stock, rng, _simulated(view)))


# --------------------------------------------------------------------------- admin
def _audit(event: str, **details) -> None:
    audit.record(event, actor=current_user._get_current_object(), **details)
    db.session.commit()


@bp.get("/admin/scanners")
@admin_required
def admin_scanners():
    from app.market.calendar import format_et
    runs = {kind: services.recent_runs(kind, 8) for kind in SCAN_KINDS}
    clock = services.market_clock()
    return render_template("market/admin_scanners.html", runs=runs, rhythms=RHYTHMS,
                           proxies=services.list_proxies(), rate=services.rate_limit_state(),
                           settings=services.settings(), clock_open=clock.is_open(),
                           clock_mode=clock.mode, format_et=format_et, now=services.utcnow())


@bp.post("/admin/scanners/run/<kind>")
@admin_required
def admin_run(kind: str):
    if kind not in SCAN_KINDS:
        abort(404)
    from app.jobs import enqueue
    from app.market.tasks import run_cycle

    enqueue("scans", run_cycle, kind, True)
    _audit(audit.SCAN_RUN, scan=kind)
    flash(f"{RHYTHMS[kind]} scan queued. It appears below when a worker picks it up.", "success")
    return redirect(url_for("market.admin_scanners"))


@bp.post("/admin/scanners/proxies")
@admin_required
def admin_add_proxy():
    try:
        row = services.add_proxy(request.form.get("url", ""))
    except InvalidInput as exc:
        flash(exc.message, "error")
    else:
        _audit(audit.PROXY_ADDED, proxy=row.display_url)
        flash(f"Proxy {row.display_url} added to the pool.", "success")
    return redirect(url_for("market.admin_scanners"))


@bp.post("/admin/scanners/proxies/<int:proxy_id>/delete")
@admin_required
def admin_remove_proxy(proxy_id: int):
    try:
        services.remove_proxy(proxy_id)
    except NotFound:
        abort(404)
    _audit(audit.PROXY_REMOVED, proxy_id=proxy_id)
    flash("Proxy removed from the pool.", "success")
    return redirect(url_for("market.admin_scanners"))


@bp.post("/admin/scanners/listings")
@admin_required
def admin_import_listings():
    """Universe upkeep from an uploaded NASDAQ Trader symbol file."""
    from app.market import listings

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a nasdaqlisted.txt or otherlisted.txt file to import.", "error")
        return redirect(url_for("market.admin_scanners"))
    try:
        parsed, res = listings.import_bytes(upload.read(listings.MAX_BYTES + 1))
    except InvalidInput as exc:
        db.session.rollback()
        flash(f"Nothing imported: {exc.message}", "error")
        return redirect(url_for("market.admin_scanners"))
    _audit(audit.SCAN_RUN, scan="listings-import", file=parsed.kind, added=len(res.added),
           deactivated=len(res.deactivated))
    flash(f"{upload.filename}: {res.summary()}.", "success")
    return redirect(url_for("market.admin_scanners"))


# --------------------------------------------------------------------------- template globals
@bp.app_template_global("market_strip")
def market_strip_global() -> list[dict]:
    """The market strip's rows (templates/_partials/_market_strip.html)."""
    return queries.market_strip()


@bp.app_template_global("market_is_simulated")
def market_is_simulated() -> bool:
    """Whether the prices on the page come from the simulated provider (the label partial)."""
    return services.provider_is_simulated()

"""The /watchlists pages: lists (create, rename, delete within plan limits), a list's live
view (sort, note/target/stop, remove, move), adding symbols (search, paste, CSV import) and
the quick "+ Watch" used by the screener and stock pages."""
from __future__ import annotations

from flask import flash, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import InvalidInput, LimitReached
from app.htmx import add_vary, is_htmx, redirect, submit_form, versioned_fragment
from app.market.services import live_version, market_clock, provider_is_simulated
from app.watchlists import bp, services
from app.watchlists.forms import AddItemsForm, ItemFields, MoveItemForm, WatchlistForm

POLL_SECONDS = 30
MAX_UPLOAD = 1_000_000


def _user():
    return current_user._get_current_object()


def _sort() -> tuple[str, str]:
    sort = request.args.get("sort", "added")
    if sort not in services.SORTS:
        sort = "added"
    direction = "desc" if request.args.get("dir") == "desc" else "asc"
    return sort, direction


def _market_open() -> bool:
    try:
        return market_clock().is_open()
    except Exception:
        return False


def _safe_next(default: str) -> str:
    from app.auth.login import safe_next

    return safe_next(request.form.get("next") or request.args.get("next")) or default


def _index_context() -> dict:
    return {"lists": services.list_watchlists(_user()), "counts": services.counts(_user())}


@bp.get("")
@login_required
def index():
    lists = services.list_watchlists(_user())
    if lists and not request.args.get("all"):
        return redirect(url_for("watchlists.view", watchlist_id=lists[0].id))
    return render_template("watchlists/index.html", form=WatchlistForm(formdata=None), **_index_context())


@bp.post("")
@login_required
def create():
    form = WatchlistForm()

    def done(wl):
        flash(f"Watchlist “{wl.name}” created.", "success")
        return redirect(url_for("watchlists.view", watchlist_id=wl.id))

    # a refused name re-renders the lists page (422); the plan limit is the error handler's
    # 403 with the usage and a link to the plans
    return submit_form(form, lambda: services.create_watchlist(_user(), form.name.data or ""), done,
                       page="watchlists/index.html", context_fn=_index_context)


def _view_context(wl) -> dict:
    sort, direction = _sort()
    rows = services.item_views(wl, sort, direction)
    as_of = max((r["as_of"] for r in rows if r["as_of"]), default=None)
    return {"wl": wl, "rows": rows, "sort": sort, "direction": direction, "sorts": services.SORTS,
            "as_of": as_of, "simulated": any(r["source"] == "simulated" for r in rows) or provider_is_simulated(),
            "lists": services.list_watchlists(_user()), "poll": POLL_SECONDS, "live": _market_open()}


def _page_context(wl) -> dict:
    """The whole list page (also what a refused form on it is re-rendered with)."""
    from app.billing.plans import plan_for

    return {**_view_context(wl), "counts": services.counts(_user()), "limit": plan_for(_user()).limit("watchlist_items")}


@bp.get("/<int:watchlist_id>")
@login_required
def view(watchlist_id: int):
    wl = services.get_owned(_user(), watchlist_id)
    return render_template("watchlists/view.html", **_page_context(wl))


def _on_list_page(wl, form, call, message, *, form_name: str = "form"):
    """A form of the list page: back to the page with `message(result)` flashed on success,
    else the page again (422) with the form's errors."""
    def done(result):
        flash(*message(result))
        return redirect(url_for("watchlists.view", watchlist_id=wl.id))

    return submit_form(form, call, done, page="watchlists/view.html", form_name=form_name,
                       context_fn=lambda: _page_context(wl))


def _etag(wl) -> str | None:
    version = live_version()
    if version is None:
        return None
    sort, direction = _sort()
    return f"wl-{wl.id}-{wl.version}-{version}-{sort}-{direction}"


@bp.get("/<int:watchlist_id>/live")
@login_required
def live(watchlist_id: int):
    """The polled items table (304 while neither the list nor the quotes changed)."""
    wl = services.get_owned(_user(), watchlist_id)
    return versioned_fragment(_etag(wl), lambda: render_template("watchlists/_items.html", **_view_context(wl)))


@bp.post("/<int:watchlist_id>/rename")
@login_required
def rename(watchlist_id: int):
    wl = services.get_owned(_user(), watchlist_id)
    form = WatchlistForm()
    return _on_list_page(wl, form, lambda: services.rename_watchlist(_user(), wl.id, form.name.data or ""),
                         lambda renamed: (f"Renamed to “{renamed.name}”.", "success"), form_name="rename_form")


@bp.post("/<int:watchlist_id>/delete")
@login_required
def delete(watchlist_id: int):
    services.delete_watchlist(_user(), watchlist_id)
    flash("Watchlist deleted.", "success")
    return redirect(url_for("watchlists.index", all=1))


def _add_message(res: dict) -> tuple[str, str]:
    parts = []
    if res["added"]:
        parts.append(f"Added {', '.join(res['added'][:20])}{' …' if len(res['added']) > 20 else ''}.")
    if res["already"]:
        parts.append(f"Already in the list: {', '.join(res['already'][:20])}.")
    if res["unknown"]:
        parts.append(f"Unknown symbols: {', '.join(u[:12] for u in res['unknown'][:20])}.")
    if res["skipped"]:
        parts.append(f"{len(res['skipped'])} left out by your plan's limit of symbols per list.")
    return " ".join(parts) or "Nothing to add.", "success" if res["added"] else "warning"


def _add_items(wl, form: AddItemsForm) -> dict:
    """The one add_symbols call for whichever of the three add forms was sent."""
    upload = form.csv.data
    if upload and upload.filename:
        data = upload.stream.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise InvalidInput("The file is larger than 1 MB.", field="csv")
        symbols = services.symbols_from_csv(data)
        if not symbols:
            raise InvalidInput("No symbols found in the file (a 'symbol' column or one symbol per line).", field="csv")
        return services.add_symbols(_user(), wl.id, symbols)
    if (form.symbols.data or "").strip():
        return services.add_symbols(_user(), wl.id, form.symbols.data)
    return services.add_symbols(_user(), wl.id, [form.symbol.data or ""], note=form.note.data,
                                target=form.target_price.data, stop=form.stop_price.data)


@bp.post("/<int:watchlist_id>/items")
@login_required
def add(watchlist_id: int):
    """Add one symbol (with optional note/target/stop), a pasted list, or a CSV file. A list
    that is already full is the error handler's 403 (usage and plans link)."""
    wl = services.get_owned(_user(), watchlist_id)
    form = AddItemsForm()
    return _on_list_page(wl, form, lambda: _add_items(wl, form), _add_message, form_name="add_form")


@bp.post("/add")
@login_required
def quick_add():
    """"+ Watch" from the screener or a stock page: to the chosen list (or the first one,
    created when the user has none). HTMX gets a one-line answer in place of the button."""
    symbol = request.form.get("symbol", "")
    wid = request.form.get("watchlist_id")
    try:
        wl = services.get_owned(_user(), wid) if wid else services.default_watchlist(_user())
        res = services.add_symbols(_user(), wl.id, [symbol])
    except (InvalidInput, LimitReached) as exc:
        if is_htmx():
            return add_vary(make_response(render_template("watchlists/_added.html", error=exc), 200))
        flash(exc.message, "error")
        return redirect(_safe_next(url_for("watchlists.index")))
    if is_htmx():
        return add_vary(make_response(render_template("watchlists/_added.html", wl=wl, res=res, error=None)))
    flash(f"{symbol.upper()} {'added to' if res['added'] else 'is already in'} “{wl.name}”.", "success")
    return redirect(_safe_next(url_for("watchlists.view", watchlist_id=wl.id)))


@bp.post("/items/<int:item_id>")
@login_required
def update_item(item_id: int):
    item = services._owned_item(_user(), item_id)
    form = ItemFields()
    return _on_list_page(item.watchlist, form, lambda: services.update_item(
        _user(), item.id, note=form.note.data, target=form.target_price.data, stop=form.stop_price.data),
        lambda saved: (f"{saved.stock.symbol} updated.", "success"), form_name="item_form")


@bp.post("/items/<int:item_id>/delete")
@login_required
def remove_item(item_id: int):
    wl = services.remove_item(_user(), item_id)
    if is_htmx():
        return add_vary(make_response("", 200))
    flash("Removed.", "success")
    return redirect(url_for("watchlists.view", watchlist_id=wl.id))


@bp.post("/items/<int:item_id>/move")
@login_required
def move_item(item_id: int):
    """A full target list is the error handler's 403 (usage and plans link)."""
    item = services._owned_item(_user(), item_id)
    form = MoveItemForm()
    return _on_list_page(item.watchlist, form, lambda: services.move_item(_user(), item.id, form.to.data),
                         lambda moved: (f"{moved.stock.symbol} moved to “{moved.watchlist.name}”.", "success"),
                         form_name="move_form")

"""The /screener pages: the screener (filters, formula, presets, results), its live results
fragment, CSV export, and saved screens (mine, public, save/rename/delete/public/clone).
Thin views: parse the definition, one service/query call, render."""
from __future__ import annotations

import csv
import hashlib
import io

from flask import Response, flash, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import InvalidInput, NotFound, parse_id
from app.htmx import add_vary, redirect, submit_form, versioned_fragment
from app.market.series import bars_key
from app.market.services import live_version, market_clock, provider_is_simulated
from app.screener import bp, queries, services
from app.screener.definition import (
    COLUMN_SPECS,
    COLUMNS,
    FILTER_SPECS,
    FILTERS,
    NUMERIC_OPS,
    PAGE_SIZES,
    TEXT_OPS,
    ScreenDefinition,
)
from app.screener.forms import RenameScreenForm, SaveScreenForm, ScreenQueryForm
from app.screener.presets import PRESETS

POLL_SECONDS = 30
CSV_FORMATS = {"price": "{:.4f}", "change": "{:.4f}", "num": "{:.4f}", "signed": "{:.4f}"}


def _user():
    return current_user._get_current_object()


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        return 1


def _screen_context():
    """The saved screen named by ``?screen=`` (own or public), with its membership markers."""
    sid = request.args.get("screen")
    if not sid:
        return None, None
    try:
        screen = services.get_screen(_user(), sid, allow_public=True)
    except NotFound:
        return None, None
    changes = services.membership_changes(screen, services.since_yesterday())
    return screen, changes


def _results_context(defn: ScreenDefinition, page: int) -> dict:
    result, error = None, None
    if not defn.errors:
        try:
            result = queries.run_screen(defn, user=_user(), page=page)
        except InvalidInput as exc:
            error = exc.message
    screen, changes = _screen_context()
    markers = {}
    if changes:
        markers.update({c.stock_id: "entered" for c in changes["entered"]})
        markers.update({c.stock_id: "left" for c in changes["left"] if c.stock_id not in markers})
    return {"defn": defn, "result": result, "error": error, "page": page, "screen": screen,
            "changes": changes, "markers": markers, "columns": [COLUMNS[c] for c in defn.columns],
            "simulated_provider": provider_is_simulated(), "poll": POLL_SECONDS, "live": _market_open(),
            "extra_args": _extra_args()}


def _market_open() -> bool:
    try:
        return market_clock().is_open()
    except Exception:
        return False


def _extra_args() -> dict:
    sid = request.args.get("screen")
    return {"screen": sid} if sid and sid.isdigit() else {}


def _etag(defn: ScreenDefinition, page: int) -> str | None:
    version = live_version()
    if version is None:
        return None
    parts = [str(version), defn.query_string(page), repr(sorted(_extra_args().items())), str(_user().id)]
    if defn.watchlist_id is not None:
        from app.watchlists.services import get_watchlist

        wl = get_watchlist(_user(), defn.watchlist_id)
        parts.append(f"wl{wl.version}" if wl else "wl-")
    if defn.formula:
        parts.append(str(bars_key()[1]))
    if request.args.get("screen"):
        from app.extensions import db
        from app.models.screener import SavedScreen

        try:
            sc = db.session.get(SavedScreen, parse_id(request.args["screen"]))
        except ValueError:
            sc = None
        parts.append(str(sc.membership_as_of if sc else None))
    return "scr-" + hashlib.blake2s("|".join(parts).encode(), digest_size=12).hexdigest()


def _page_url(defn: ScreenDefinition, page: int, **override) -> str:
    qs = defn.query_string(page, **override)
    extra = "&".join(f"{k}={v}" for k, v in _extra_args().items())
    sep = "&" if qs and extra else ""
    return url_for("screener.index") + ("?" + qs + sep + extra if qs or extra else "")


@bp.app_context_processor
def _helpers():
    return {"screener_page_url": _page_url}


@bp.get("")
@login_required
def index():
    defn = ScreenDefinition.parse(request.args)
    page = _page()
    from app.watchlists.services import list_watchlists

    ctx = _results_context(defn, page)
    screens = services.list_screens(_user())
    return render_template(
        "screener/index.html", **ctx, filter_specs=FILTER_SPECS, filters=FILTERS, numeric_ops=NUMERIC_OPS,
        text_ops=TEXT_OPS, column_specs=COLUMN_SPECS, page_sizes=PAGE_SIZES, presets=PRESETS,
        watchlists=list_watchlists(_user()), my_screens=screens,
        suggestions={k: queries.known_values(k) for k in ("sector", "industry", "exchange", "type")})


@bp.get("/results")
@login_required
def results():
    """The results region: sorted, paginated, polled (304 while the data is unchanged)."""
    defn = ScreenDefinition.parse(request.args)
    page = _page()
    etag = _etag(defn, page) if not defn.errors else None
    state = {"status": 200}

    def render() -> str:
        nonlocal page
        ctx = _results_context(defn, page)
        if ctx["result"] is not None and page > ctx["result"].pages:
            page = ctx["result"].pages
            ctx = _results_context(defn, page)
        if defn.errors or ctx["error"]:
            state["status"] = 422
        from app.watchlists.services import list_watchlists

        return render_template("screener/_results.html", **ctx, watchlists=list_watchlists(_user()))

    resp = versioned_fragment(etag, render)
    if resp.status_code == 304:
        return resp
    if state["status"] != 200:
        resp.status_code = state["status"]
        resp.headers.pop("ETag", None)
    if request.headers.get("HX-Trigger") != "results":  # not the poll: keep the address bar in step
        resp.headers["HX-Push-Url"] = _page_url(defn, page)
    return resp


@bp.get("/filter-row")
@login_required
def filter_row():
    """A new, empty filter row (HTMX 'add filter'); ``?field=`` preselects the field."""
    try:
        i = int(request.args.get("i", 0))
    except ValueError:
        i = 0
    key = request.args.get("field", "")
    spec = FILTERS.get(key) or FILTER_SPECS[0]
    return add_vary(make_response(render_template(
        "screener/_filter_row.html", i=i, f=None, spec=spec, filter_specs=FILTER_SPECS, numeric_ops=NUMERIC_OPS,
        text_ops=TEXT_OPS, error=None,
        suggestions={k: queries.known_values(k) for k in ("sector", "industry", "exchange", "type")})))


@bp.get("/nothing")
@login_required
def nothing():
    """An empty answer (the 'remove filter' button swaps its row with it)."""
    resp = make_response("", 200)
    resp.headers["HX-Trigger-After-Swap"] = "filter-removed"
    return add_vary(resp)


@bp.get("/export.csv")
@login_required
def export_csv():
    """The whole result (every page) with the chosen columns."""
    defn = ScreenDefinition.parse(request.args)
    if defn.errors:
        raise InvalidInput(next(iter(defn.errors.values())))
    result = queries.run_screen(defn, user=_user(), all_rows=True)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([COLUMNS[c].label for c in defn.columns])
    for row in result.rows:
        out = []
        for c in defn.columns:
            v = row.get(c)
            spec = COLUMNS[c]
            if v is None:
                out.append("")
            elif spec.numeric and isinstance(v, float):
                out.append(f"{v:.4f}".rstrip("0").rstrip(".") if spec.fmt != "abbrev" else f"{v:.0f}")
            else:
                out.append(_csv_safe(str(v)))
        w.writerow(out)
    resp = Response(buf.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = 'attachment; filename="screen.csv"'
    return resp


def _csv_safe(text: str) -> str:
    """No spreadsheet formulas from data (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# --------------------------------------------------------------------------- saved screens
def _screens_context() -> dict:
    q = request.args.get("q", "")
    public, total = services.public_screens(q, limit=100)
    return {"mine": services.list_screens(_user()), "public": public, "public_total": total, "q": q,
            "definition_of": services.screen_definition}


@bp.get("/screens")
@login_required
def screens():
    return render_template("screener/screens.html", **_screens_context())


@bp.get("/screens/<int:screen_id>")
@login_required
def open_screen(screen_id: int):
    screen = services.get_screen(_user(), screen_id, allow_public=True)
    defn = services.screen_definition(screen)
    qs = defn.query_string()
    return redirect(url_for("screener.index") + "?" + (qs + "&" if qs else "") + f"screen={screen.id}")


def _definition_from_form(raw: str | None = None) -> ScreenDefinition:
    from urllib.parse import parse_qs

    from werkzeug.datastructures import MultiDict

    raw = (request.form.get("qs", "") if raw is None else raw)[:8000]
    return ScreenDefinition.parse(MultiDict([(k, v) for k, vs in parse_qs(raw).items() for v in vs]))


def _back(defn: ScreenDefinition | None = None, screen=None) -> str:
    if screen is not None:
        return url_for("screener.open_screen", screen_id=screen.id)
    return _page_url(defn, 1) if defn is not None else url_for("screener.screens")


def _submit_screen(form, defn: ScreenDefinition, call, message):
    """Save or update: HTMX puts a refusal in the save form's error slot; without JavaScript it
    is a page that links back to the screen. A plan limit is the error handler's 403 (usage
    and plans link)."""
    def done(screen):
        flash(message(screen), "success")
        return redirect(_back(screen=screen))

    return submit_form(form, call, done, page="screener/save_refused.html", partial="screener/_save_error.html",
                       form_name="save_form", back=_back(defn))


@bp.post("/screens")
@login_required
def save():
    form = SaveScreenForm()
    defn = _definition_from_form(form.qs.data or "")
    return _submit_screen(form, defn, lambda: services.save_screen(_user(), form.name.data or "", defn,
                                                                   is_public=form.is_public.data == "1"),
                          lambda screen: f"Screen “{screen.name}” saved.")


@bp.post("/screens/<int:screen_id>/update")
@login_required
def update(screen_id: int):
    form = ScreenQueryForm()
    defn = _definition_from_form(form.qs.data or "")
    return _submit_screen(form, defn, lambda: services.update_screen(_user(), screen_id, definition=defn),
                          lambda screen: f"Screen “{screen.name}” updated.")


@bp.post("/screens/<int:screen_id>/rename")
@login_required
def rename(screen_id: int):
    form = RenameScreenForm()

    def done(screen):
        flash(f"Renamed to “{screen.name}”.", "success")
        return redirect(request.form.get("next") == "screen" and _back(screen=screen) or url_for("screener.screens"))

    # a refused name re-renders the screens page (422) with the message on that screen's row
    return submit_form(form, lambda: services.update_screen(_user(), screen_id, name=form.name.data or ""), done,
                       page="screener/screens.html", form_name="rename_form", renamed_id=screen_id,
                       context_fn=_screens_context)


@bp.post("/screens/<int:screen_id>/public")
@login_required
def set_public(screen_id: int):
    try:
        screen = services.update_screen(_user(), screen_id, is_public=request.form.get("is_public") == "1")
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("screener.screens"))
    flash(f"“{screen.name}” is now {'public' if screen.is_public else 'private'}.", "success")
    return redirect(url_for("screener.screens"))


@bp.post("/screens/<int:screen_id>/delete")
@login_required
def delete(screen_id: int):
    services.delete_screen(_user(), screen_id)
    flash("Screen deleted.", "success")
    return redirect(url_for("screener.screens"))


@bp.post("/screens/<int:screen_id>/clone")
@login_required
def clone(screen_id: int):
    copy = services.clone_screen(_user(), screen_id)  # a plan limit: the shared handler's 403
    flash(f"Cloned as “{copy.name}” (private).", "success")
    return redirect(_back(screen=copy))

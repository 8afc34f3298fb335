"""The landing page for visitors and the signed-in home page."""
from __future__ import annotations

from flask import abort, render_template, url_for
from flask_login import current_user, login_required

from app.auth import twofactor
from app.billing.plans import PLANS, plan_for
from app.dashboards import bp
from app.htmx import redirect
from app.navigation import NAV_BY_KEY


@bp.get("/")
def landing():
    if current_user.is_authenticated:
        return redirect(url_for("dashboards.home"))
    return render_template("dashboards/landing.html", plans=PLANS.values())


@bp.get("/home")
@login_required
def home():
    user = current_user._get_current_object()
    from app.screener.queries import top_movers
    from app.watchlists import services as watchlists

    lists = watchlists.list_watchlists(user)
    watch = lists[0] if lists else None
    return render_template("dashboards/home.html", plan=plan_for(user),
                           backup_left=twofactor.remaining_backup_codes(user), movers=top_movers(5),
                           watch=watch, watch_rows=watchlists.item_views(watch, "change_pct", "desc")[:8] if watch else [])


@bp.get("/upcoming/<key>")
@login_required
def upcoming(key: str):
    item = NAV_BY_KEY.get(key)
    if item is None or item.endpoint is not None:
        abort(404)
    return render_template("dashboards/upcoming.html", item=item)

"""/strategies and /leaderboard. Thin views: parse, one service call, render."""
from __future__ import annotations

from flask import abort, flash, jsonify, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from app.errors import InvalidInput, Throttled
from app.extensions import db
from app.htmx import add_vary, hx_trigger, is_htmx, redirect, render_view, submit_form, versioned_fragment
from app.models.jobs import JobRun
from app.models.strategies import BOARD_CATEGORIES, TIMEFRAMES
from app.paper import metrics as m
from app.strategies import bp, queries, scoring, services
from app.strategies.forms import CATEGORY_LABELS, ActionForm, BacktestForm, RatingForm, StrategyForm

#: every metric shown on the backtest and strategy pages: formula, unit, difference from
#: backtesting.py (the one list, beside the math in app.paper.metrics)
METRICS = m.DOCS
TF_LABELS = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly", "all_time": "All time"}


def _user():
    return current_user._get_current_object()


def _args_int(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default


# ===================================================================== my strategies
@bp.get("/strategies")
@login_required
def index():
    mine = services.list_mine(_user())
    return render_template("strategies/index.html", strategies=mine, templates=services.TEMPLATES,
                           labels=CATEGORY_LABELS)


@bp.get("/strategies/new")
@login_required
def new():
    tpl = services.TEMPLATES.get(request.args.get("template", ""))
    form = _universe_choices(StrategyForm(formdata=None))
    if tpl:
        form.name.data = tpl["label"]
        for k in ("description", "category", "entry_rule", "exit_rule"):
            getattr(form, k).data = tpl[k]
        for k in ("sizing_pct", "stop_loss_pct", "take_profit_pct"):
            getattr(form, k).data = "" if tpl[k] is None else f"{tpl[k]:g}"
        form.universe.data = _default_universe()
    return render_template("strategies/edit.html", form=form, strategy=None, templates=services.TEMPLATES)


def _universe_choices(form: StrategyForm) -> StrategyForm:
    """The user's watchlists and screens (plus public screens) for the universe selects."""
    from app.screener.services import list_screens
    from app.watchlists.services import list_watchlists

    user = _user()
    form.watchlist_id.choices = [("", "—")] + [(str(w.id), w.name) for w in list_watchlists(user)]
    form.screen_id.choices = [("", "—")] + [(str(sc.id), sc.name) for sc in list_screens(user)]
    return form


def _default_universe() -> str:
    from sqlalchemy import select

    from app.models.market import Stock

    syms = db.session.scalars(select(Stock.symbol).where(Stock.active.is_(True)).order_by(Stock.symbol).limit(20))
    return ", ".join(syms)


@bp.post("/strategies")
@login_required
def create():
    form = _universe_choices(StrategyForm())

    def done(strategy):
        flash(f"Strategy “{strategy.name}” saved. Run a backtest to see how it would have done.", "success")
        return redirect(url_for("strategies.detail", strategy_id=strategy.id))

    return submit_form(form, lambda: services.create_strategy(_user(), **form.values()), done,
                       page="strategies/edit.html", partial="strategies/_form.html", strategy=None,
                       templates=services.TEMPLATES)


@bp.route("/strategies/<int:strategy_id>/edit", methods=["GET", "POST"])
@login_required
def edit(strategy_id: int):
    strategy = services.get_owned(_user(), strategy_id)
    if request.method == "GET":
        form = _universe_choices(StrategyForm(formdata=None, obj=strategy))
        form.watchlist_id.data = str(strategy.watchlist_id or "")
        form.screen_id.data = str(strategy.screen_id or "")
        for k in ("sizing_pct", "stop_loss_pct", "take_profit_pct"):
            v = getattr(strategy, k)
            getattr(form, k).data = "" if v is None else f"{v:g}"
        form.universe.data = ", ".join(strategy.symbols)
        return render_template("strategies/edit.html", form=form, strategy=strategy, templates=services.TEMPLATES)
    form = _universe_choices(StrategyForm())

    def done(_):
        flash("Strategy saved.", "success")
        return redirect(url_for("strategies.detail", strategy_id=strategy.id))

    return submit_form(form, lambda: services.update_strategy(_user(), strategy.id, **form.values()), done,
                       page="strategies/edit.html", partial="strategies/_form.html", strategy=strategy,
                       templates=services.TEMPLATES)


# ===================================================================== detail
def _detail_context(strategy, **extra):
    user = _user()
    is_owner = strategy.owner_id == user.id
    bt = services.latest_backtest(strategy, succeeded_only=True)
    latest = services.latest_backtest(strategy)
    running = latest if latest is not None and latest.status in ("queued", "running") else None
    forward = queries.forward_scores(strategy) if strategy.paper_account_id else None
    trades_total = 0
    forward_trades = []
    if strategy.paper_account is not None:
        from app.paper import services as ledger

        stats = ledger.trade_stats(strategy.paper_account, "all")
        trades_total = stats["trades"]
        forward_trades = ledger.trades(strategy.paper_account, "all", limit=100)
    ctx = {
        "strategy": strategy, "is_owner": is_owner, "backtest": bt, "running": running,
        "running_run": db.session.get(JobRun, running.job_run_id) if running and running.job_run_id else None,
        "forward": forward, "forward_trades": forward_trades,
        "fw": queries.forward_metrics(strategy) if strategy.paper_account_id else None,
        "eligibility": queries.eligibility(strategy, trades_total),
        "board": queries.board_entries_for(strategy.id),
        "ratings": services.ratings(strategy), "my_rating": services.my_rating(user, strategy),
        "bt_form": BacktestForm(formdata=None), "rating_form": extra.pop("rating_form", None) or _rating_form(user, strategy),
        "action_form": ActionForm(formdata=None), "metrics_doc": METRICS, "labels": CATEGORY_LABELS,
        "tf_labels": TF_LABELS, "timeframes": TIMEFRAMES, "monthly": _monthly(bt) if bt else None,
        "score_formula": scoring.FORMULA, "weights": scoring.WEIGHTS,
        "min_trades": scoring.MIN_TRADES, "rookie_days": scoring.ROOKIE_DAYS,
        "used": services.backtests_this_month(user) if is_owner else None,
    }
    ctx.update(extra)
    return ctx


def _rating_form(user, strategy):
    form = RatingForm(formdata=None)
    mine = services.my_rating(user, strategy)
    if mine:
        form.stars.data, form.review.data = str(mine.stars), mine.review
    return form


def _monthly(bt) -> list[dict]:
    return m.monthly_returns([p[0] for p in bt.equity or []], [p[1] for p in bt.equity or []])


@bp.get("/strategies/<int:strategy_id>")
@login_required
def detail(strategy_id: int):
    strategy = services.get_visible(_user(), strategy_id)
    services.record_view(_user(), strategy)
    return render_template("strategies/detail.html", **_detail_context(strategy))


@bp.get("/strategies/<int:strategy_id>/forward.json")
@login_required
def forward_data(strategy_id: int):
    strategy = services.get_visible(_user(), strategy_id)
    return add_vary(jsonify(**queries.forward_chart(strategy)))


# ===================================================================== backtests
@bp.post("/strategies/<int:strategy_id>/backtests")
@login_required
def backtest(strategy_id: int):
    strategy = services.get_owned(_user(), strategy_id)
    form = BacktestForm()

    def failed_context() -> dict:
        if is_htmx():
            return {"strategy": strategy, "is_owner": True, "used": services.backtests_this_month(_user())}
        return _detail_context(strategy)

    # the monthly backtest limit is the error handler's 403 (usage and a link to the plans)
    return submit_form(form, lambda: services.start_backtest(
        _user(), strategy.id, start=form.start.data, end=form.end.data, capital=form.capital.data or "100000",
        slippage_bps=form.slippage_bps.data or "5", commission=form.commission.data or "0"),
        lambda bt: redirect(url_for("strategies.backtest_view", backtest_id=bt.id)),
        page="strategies/detail.html", partial="strategies/_backtest_form.html", form_name="bt_form",
        context_fn=failed_context)


@bp.get("/strategies/backtests/<int:backtest_id>")
@login_required
def backtest_view(backtest_id: int):
    bt = services.get_backtest(_user(), backtest_id)
    run = db.session.get(JobRun, bt.job_run_id) if bt.job_run_id else None
    return render_template("strategies/backtest.html", bt=bt, strategy=bt.strategy, run=run, metrics_doc=METRICS,
                           monthly=_monthly(bt) if bt.status == "succeeded" else None,
                           is_owner=bt.strategy.owner_id == _user().id)


@bp.get("/strategies/backtests/<int:backtest_id>/progress")
@login_required
def backtest_progress(backtest_id: int):
    """The polled progress region; when the run is over the page reloads to show results."""
    bt = services.get_backtest(_user(), backtest_id)
    run = db.session.get(JobRun, bt.job_run_id) if bt.job_run_id else None
    if run is None:
        abort(404)
    response = make_response(render_template("strategies/_progress.html", bt=bt, run=run))
    if run.is_terminal and is_htmx():
        response.headers["HX-Refresh"] = "true"
    return add_vary(response)


@bp.get("/strategies/backtests/<int:backtest_id>/equity.json")
@login_required
def backtest_equity(backtest_id: int):
    bt = services.get_backtest(_user(), backtest_id)
    pts = bt.equity or []
    equity = [{"time": p[0], "value": p[1]} for p in pts]
    bench = [{"time": p[0], "value": p[2]} for p in pts if p[2] is not None]
    return add_vary(jsonify(equity=equity, benchmark=bench, drawdown=queries.drawdown_points(equity),
                            starting_balance=bt.starting_capital,
                            benchmark_label=(bt.metrics or {}).get("benchmark", "benchmark")))


# ===================================================================== actions
def _action_ok() -> bool:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    return True


@bp.post("/strategies/<int:strategy_id>/track")
@login_required
def track(strategy_id: int):
    _action_ok()
    try:
        strategy = services.start_tracking(_user(), strategy_id)
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("strategies.detail", strategy_id=strategy_id))
    flash("Forward tracking started: the strategy now trades its own paper account after every daily scan.",
          "success")
    return redirect(url_for("strategies.detail", strategy_id=strategy.id))


@bp.post("/strategies/<int:strategy_id>/untrack")
@login_required
def untrack(strategy_id: int):
    _action_ok()
    strategy = services.stop_tracking(_user(), strategy_id)
    flash("Forward tracking stopped.", "success")
    return redirect(url_for("strategies.detail", strategy_id=strategy.id))


@bp.post("/strategies/<int:strategy_id>/archive")
@login_required
def archive(strategy_id: int):
    _action_ok()
    services.archive_strategy(_user(), strategy_id)
    flash("Strategy archived.", "success")
    return redirect(url_for("strategies.index"))


@bp.post("/strategies/<int:strategy_id>/clone")
@login_required
def clone(strategy_id: int):
    _action_ok()
    try:
        copy, created = services.clone_strategy(_user(), strategy_id)
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("strategies.detail", strategy_id=strategy_id))
    flash("Cloned into a private draft." if created else "You cloned this strategy before: here is your copy.",
          "success")
    return redirect(url_for("strategies.detail", strategy_id=copy.id))


@bp.post("/strategies/<int:strategy_id>/rate")
@login_required
def rate(strategy_id: int):
    strategy = services.get_visible(_user(), strategy_id)
    form = RatingForm()

    def ratings_context() -> dict:
        return {"strategy": strategy, "ratings": services.ratings(strategy),
                "my_rating": services.my_rating(_user(), strategy)}

    def done(_):
        if not is_htmx():
            flash("Thanks for rating.", "success")
            return redirect(url_for("strategies.detail", strategy_id=strategy.id))
        db.session.refresh(strategy)
        response = render_view("strategies/detail.html", "strategies/_ratings.html", rating_form=form,
                               is_owner=False, saved=True, **ratings_context())
        return hx_trigger(response, "strategy-rated")

    def failed_context() -> dict:
        if is_htmx():
            return {**ratings_context(), "is_owner": strategy.owner_id == _user().id}
        return _detail_context(strategy)

    return submit_form(form, lambda: services.rate_strategy(_user(), strategy.id, form.stars.data,
                                                            form.review.data or ""), done,
                       page="strategies/detail.html", partial="strategies/_ratings.html", form_name="rating_form",
                       context_fn=failed_context)


@bp.post("/strategies/<int:strategy_id>/recalculate")
@login_required
def recalculate(strategy_id: int):
    _action_ok()
    try:
        run = services.recalculate(_user(), strategy_id)
    except Throttled as exc:
        flash(exc.message, "error")
    else:
        flash(f"Recalculation of this strategy's scores queued (job #{run.id}).", "success")
    return redirect(url_for("strategies.detail", strategy_id=strategy_id))


# ===================================================================== leaderboard
def _board_args():
    category = request.args.get("category", "overall")
    timeframe = request.args.get("timeframe", "all_time")
    if category not in BOARD_CATEGORIES:
        category = "overall"
    if timeframe not in TIMEFRAMES:
        timeframe = "all_time"
    q = (request.args.get("q") or "").strip()[:80]
    page = max(1, min(_args_int("page", 1), 100000))
    per_page = max(1, min(_args_int("per_page", 50), queries.MAX_PER_PAGE))
    return category, timeframe, q, page, per_page


def _board_etag(args) -> str:
    import hashlib

    key = "|".join(str(a) for a in args)
    return f"lb-{services.board_version()}-{hashlib.blake2s(key.encode(), digest_size=6).hexdigest()}"


@bp.get("/leaderboard")
@login_required
def leaderboard():
    args = _board_args()
    category, timeframe, q, page, per_page = args
    board = queries.board_page(category, timeframe, q, page, per_page)
    ctx = {"board": board, "category": category, "timeframe": timeframe, "q": q, "per_page": per_page,
           "categories": BOARD_CATEGORIES, "timeframes": TIMEFRAMES, "labels": CATEGORY_LABELS,
           "tf_labels": TF_LABELS, "min_trades": scoring.MIN_TRADES, "rookie_days": scoring.ROOKIE_DAYS,
           "etag": _board_etag(args), "doc": m.DOC, "score_formula": scoring.FORMULA}
    return render_view("strategies/leaderboard.html", "strategies/_board.html", **ctx)


@bp.get("/leaderboard/rows")
@login_required
def leaderboard_rows():
    """The polled region (ETag from the ranking's version: idle polls cost a 304)."""
    args = _board_args()
    category, timeframe, q, page, per_page = args

    ctx = {"category": category, "timeframe": timeframe, "q": q, "per_page": per_page, "labels": CATEGORY_LABELS,
           "tf_labels": TF_LABELS, "categories": BOARD_CATEGORIES}

    def render() -> str:
        board = queries.board_page(category, timeframe, q, page, per_page)
        return render_template("strategies/_board.html", board=board, min_trades=scoring.MIN_TRADES,
                               rookie_days=scoring.ROOKIE_DAYS, doc=m.DOC, score_formula=scoring.FORMULA, **ctx)

    if request.headers.get("HX-Trigger") != "board-controls":
        return versioned_fragment(_board_etag(args), render)  # the 30 s poll
    # The trader changed the timeframe or the search: the tabs follow (out of band) and the
    # address bar holds the whole state, so a reload or a shared link shows the same board.
    response = versioned_fragment(None, lambda: render() + render_template("strategies/_board_tabs.html", oob=True,
                                                                            **ctx))
    response.headers["HX-Push-Url"] = url_for("strategies.leaderboard", category=category, timeframe=timeframe,
                                              q=q or None, per_page=per_page if per_page != 50 else None)
    return response

"""The /help pages: the help center (search, categories, popular and most-helpful lists), an
article with its "was this helpful" vote (login required, HTMX or plain POST)."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from app.admin.access import admin_required
from app.errors import InvalidInput
from app.help import authoring, bp, services, walkthrough
from app.help.forms import ArticleForm
from app.htmx import is_htmx, redirect, render_view, submit_form


@bp.get("")
def index():
    query = request.args.get("q", "").strip()[:services.MAX_QUERY]
    tag = request.args.get("tag", "").strip()[:40] or None
    searching = bool(query or tag)
    return render_view("help/index.html", "help/_results.html" if searching else None,
                       query=query, tag=tag, searching=searching,
                       results=services.search(query, tag) if searching else [],
                       groups=services.by_category(), labels=services.CATEGORY_LABELS,
                       popular=services.popular(), helpful=services.most_helpful())


def _vote_context(article, error=None) -> dict:
    return {"article": article, "counts": services.counts(article.id), "error": error,
            "mine": services.my_vote(current_user, article.id)}


# --------------------------------------------------------------------------- admin: articles
# (declared before /<slug> for readability; Werkzeug prefers the static /admin path anyway)
@bp.get("/admin")
@admin_required
def admin():
    return render_template("help/admin.html", articles=authoring.all_articles(), labels=services.CATEGORY_LABELS)


@bp.route("/admin/articles/<int:article_id>", methods=["GET", "POST"])
@admin_required
def admin_article(article_id: int):
    article = authoring.get_article(article_id)
    form = ArticleForm(obj=article if request.method == "GET" else None)
    if request.method == "GET":
        form.body.data, form.tags.data = article.body_md, " ".join(article.tag_list)

    def saved(_):
        flash(f"“{article.title}” saved. A content sync keeps this edit unless forced.", "success")
        return redirect(url_for("help.admin"))

    return submit_form(form, lambda: authoring.edit_article(current_user._get_current_object(), article.id,
                                                            title=form.title.data, summary=form.summary.data or "",
                                                            tags=form.tags.data or "", body=form.body.data),
                       saved, page="help/admin_article.html", article=article,
                       preview=Markup(article.body_html) if request.method == "GET" else None)  # noqa: S704


@bp.post("/admin/articles/<int:article_id>/publish")
@admin_required
def admin_publish(article_id: int):
    published = request.form.get("published") == "1"
    article = authoring.set_published(current_user._get_current_object(), article_id, published)
    flash(f"“{article.title}” {'published' if published else 'unpublished'}.", "success")
    return redirect(url_for("help.admin"))


@bp.get("/<slug>")
def article(slug: str):
    article = services.get_article(slug)
    services.record_view(article)
    return render_template("help/article.html", labels=services.CATEGORY_LABELS,
                           related=[a for a in services.search("", article.tag_list[0]) if a.id != article.id][:4]
                           if article.tag_list else [], **_vote_context(article))


@bp.post("/<slug>/vote")
@login_required
def vote(slug: str):
    article = services.get_article(slug)
    try:
        services.vote(current_user._get_current_object(), slug, services.parse_vote(request.form.get("helpful")))
    except InvalidInput as exc:
        return render_view("help/_vote_page.html", "help/_vote.html", status=422, **_vote_context(article, error=exc.message))
    if is_htmx():
        return render_view("help/_vote.html", **_vote_context(article))
    flash("Thanks, your answer is saved. You can change it any time.", "success")
    return redirect(url_for("help.article", slug=slug) + "#helpful")


# --------------------------------------------------------------------------- walkthroughs
PAGE_ENDPOINTS = {"screener": "screener.index", "alerts": "alerts.index", "strategies": "strategies.index"}


def _after_walkthrough(page: str, view):
    if is_htmx():
        return render_view("help/_walkthrough_panel.html", wt=view)
    return redirect(url_for(PAGE_ENDPOINTS[page]))


@bp.post("/walkthrough/<page>/next")
@login_required
def walkthrough_next(page: str):
    view = walkthrough.advance(current_user._get_current_object(), page)
    return _after_walkthrough(page, view)


@bp.post("/walkthrough/<page>/dismiss")
@login_required
def walkthrough_dismiss(page: str):
    walkthrough.dismiss(current_user._get_current_object(), page)
    return _after_walkthrough(page, None)

"""The /alerts pages: my rules (create/edit/pause/delete), templates, triggered alerts, the
header bell fragment, notification settings and the admin latency page. Thin views: parse, one
service call, render."""
from __future__ import annotations

import datetime as dt

from flask import flash, render_template, request, url_for
from flask_login import current_user, login_required

from app.admin.access import admin_required
from app.alerts import bp, scopes, services
from app.alerts.forms import (
    AlertForm,
    ApplyTemplateForm,
    CodeForm,
    PhoneForm,
    SettingsForm,
    TemplateForm,
    WebhookForm,
)
from app.billing.plans import plan_for
from app.errors import InvalidInput, parse_id
from app.htmx import is_htmx, redirect, render_view, submit_form, versioned_fragment
from app.models.alerts import SCOPE_SCREEN, SCOPE_WATCHLIST


def _user():
    return current_user._get_current_object()


def _int_arg(name: str) -> int | None:
    try:
        return parse_id(request.args.get(name, ""))
    except ValueError:
        return None


def _date_arg(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, "")[:10])
    except ValueError:
        return None


def _list_choices(form, user) -> None:
    form.watchlist_id.choices = [("", "—")] + [(str(i), n) for i, n in scopes.choices(user, SCOPE_WATCHLIST)]
    form.screen_id.choices = [("", "—")] + [(str(i), n) for i, n in scopes.choices(user, SCOPE_SCREEN)]


def _form_context(user, form, rule=None):
    plan = plan_for(user)
    settings = services.get_settings(user)
    return {"form": form, "rule": rule, "plan": plan, "settings": settings,
            "active": services.active_count(user), "lists_available": scopes.available(SCOPE_WATCHLIST)}


def _rule_input(form) -> services.RuleInput:
    return services.RuleInput(
        name=form.name.data or "", scope_kind=form.scope_kind.data, symbol=form.symbol.data or "",
        scope_ref_id=form.scope_ref() or None, conditions=form.conditions(),
        trigger_mode=form.trigger_mode.data, cooldown_minutes=form.cooldown_minutes.data,
        notify_email=form.notify_email.data, notify_sms=form.notify_sms.data,
        notify_webhook=form.notify_webhook.data, message=form.message.data or "", expires_on=form.expires_on.data)


# --------------------------------------------------------------------------- rules
def _index_context(user) -> dict:
    rules = services.list_rules(user)
    lists = scopes.names({k: {r.scope_ref_id for r in rules if r.scope_kind == k and r.scope_ref_id}
                          for k in (SCOPE_WATCHLIST, SCOPE_SCREEN)})
    return {"rules": rules, "plan": plan_for(user), "words": services.rule_words, "lists": lists,
            "active": sum(1 for r in rules if r.status == "active"),
            "templates": services.list_templates(user), "unread": services.unread_count(user)}


@bp.get("")
@login_required
def index():
    return render_template("alerts/index.html", **_index_context(_user()))


@bp.get("/new")
@login_required
def new():
    user = _user()
    symbol = (request.args.get("symbol") or "").strip().upper()[:10]
    form = AlertForm(formdata=None, symbol=symbol)
    if request.args.get("scope") in ("watchlist", "screen") and _int_arg("ref"):
        form.scope_kind.data = request.args["scope"]
        getattr(form, f"{request.args['scope']}_id").data = str(_int_arg("ref"))
        if form.scope_kind.data == "screen":
            form.kind.data = "screen_enter"
    _list_choices(form, user)
    settings = services.get_settings(user)
    form.notify_email.data = settings.email_on
    return render_template("alerts/new.html", **_form_context(user, form))


@bp.post("")
@login_required
def create():
    user = _user()
    form = AlertForm()
    _list_choices(form, user)

    def done(rule):
        flash(f"Alert “{rule.name}” created. It is checked after every 1-minute market update.", "success")
        return redirect(url_for("alerts.index"))

    # a plan limit is the error handler's 403 (usage and a link to the plans)
    return submit_form(form, lambda: services.create_rule(user, _rule_input(form)), done,
                       page="alerts/new.html", partial="alerts/_form.html",
                       context_fn=lambda: _form_context(user, form))


@bp.get("/<int:rule_id>/edit")
@login_required
def edit(rule_id: int):
    user = _user()
    rule = services.get_rule(user, rule_id)
    conds = rule.conditions or [{}]
    form = AlertForm(formdata=None, name=rule.name, scope_kind=rule.scope_kind,
                     symbol=rule.stock.symbol if rule.stock else "",
                     watchlist_id=str(rule.scope_ref_id or "") if rule.scope_kind == SCOPE_WATCHLIST else "",
                     screen_id=str(rule.scope_ref_id or "") if rule.scope_kind == SCOPE_SCREEN else "",
                     kind=conds[0].get("kind"),
                     value=_num_text(conds[0].get("value")), formula=conds[0].get("formula") or "",
                     trigger_mode=rule.trigger_mode, cooldown_minutes=str(rule.cooldown_minutes),
                     notify_email=rule.notify_email, notify_sms=rule.notify_sms, notify_webhook=rule.notify_webhook,
                     message=rule.message,
                     expires_on=rule.expires_at.astimezone(services.ET).date() if rule.expires_at else None)
    if len(conds) > 1:
        form.kind2.data, form.value2.data = conds[1].get("kind"), _num_text(conds[1].get("value"))
        form.formula2.data = conds[1].get("formula") or ""
    _list_choices(form, user)
    return render_template("alerts/edit.html", **_form_context(user, form, rule))


def _num_text(v) -> str:
    if v is None:
        return ""
    return f"{v:g}" if abs(v) < 1e15 else str(v)


@bp.post("/<int:rule_id>")
@login_required
def update(rule_id: int):
    user = _user()
    rule = services.get_rule(user, rule_id)
    form = AlertForm()
    _list_choices(form, user)

    def done(saved):
        flash(f"Alert “{saved.name}” saved.", "success")
        return redirect(url_for("alerts.index"))

    return submit_form(form, lambda: services.update_rule(user, rule_id, _rule_input(form)), done,
                       page="alerts/edit.html", partial="alerts/_form.html",
                       context_fn=lambda: _form_context(user, form, rule))


@bp.post("/<int:rule_id>/pause")
@login_required
def pause(rule_id: int):
    rule = services.set_paused(_user(), rule_id, True)
    flash(f"Alert “{rule.name}” paused.", "success")
    return redirect(url_for("alerts.index"))


@bp.post("/<int:rule_id>/resume")
@login_required
def resume(rule_id: int):
    try:
        rule = services.set_paused(_user(), rule_id, False)
    except InvalidInput as exc:  # a plan limit goes to the shared handler (usage + plans link)
        flash(exc.message, "error")
    else:
        flash(f"Alert “{rule.name}” is active again.", "success")
    return redirect(url_for("alerts.index"))


@bp.post("/<int:rule_id>/delete")
@login_required
def delete(rule_id: int):
    services.delete_rule(_user(), rule_id)
    flash("Alert deleted.", "success")
    return redirect(url_for("alerts.index"))


# --------------------------------------------------------------------------- templates
@bp.get("/templates")
@login_required
def templates():
    user = _user()
    form = ApplyTemplateForm(formdata=None)
    _list_choices(form, user)
    return render_template("alerts/templates.html", form=form, **_templates_context(user))


def _templates_context(user) -> dict:
    return {"templates": services.list_templates(user), "words": services.rule_words,
            "lists_available": scopes.available(SCOPE_WATCHLIST)}


@bp.post("/<int:rule_id>/template")
@login_required
def save_template(rule_id: int):
    user = _user()
    form = TemplateForm()

    def done(t):
        flash(f"Template “{t.name}” saved: apply it to any symbol or list.", "success")
        return redirect(url_for("alerts.templates"))

    # a refusal re-renders the alerts list with the message beside that alert's menu
    return submit_form(form, lambda: services.save_template(user, rule_id, form.name.data or ""), done,
                       page="alerts/index.html", form_name="template_form", template_rule_id=rule_id,
                       context_fn=lambda: _index_context(user))


@bp.post("/templates/<int:template_id>/apply")
@login_required
def apply_template(template_id: int):
    user = _user()
    services.get_template(user, template_id)  # 404 before anything else
    form = ApplyTemplateForm()
    _list_choices(form, user)

    def done(created):
        flash(f"{len(created)} alert{'s' if len(created) != 1 else ''} created from the template.", "success")
        return redirect(url_for("alerts.index"))

    return submit_form(form, lambda: services.apply_template(
        user, template_id, scope_kind=form.scope_kind.data, symbols=form.symbols.data or "",
        scope_ref_id=form.scope_ref()), done,
        page="alerts/templates.html", applied_id=template_id, context_fn=lambda: _templates_context(user))


@bp.post("/templates/<int:template_id>/delete")
@login_required
def delete_template(template_id: int):
    services.delete_template(_user(), template_id)
    flash("Template deleted.", "success")
    return redirect(url_for("alerts.templates"))


# --------------------------------------------------------------------------- triggered
def _filters() -> services.EventFilter:
    state = request.args.get("state", "all")
    return services.EventFilter(rule_id=_int_arg("rule"), symbol=(request.args.get("symbol") or "")[:10],
                                date_from=_date_arg("from"), date_to=_date_arg("to"),
                                state=state if state in ("all", "unread", "acknowledged") else "all")


@bp.get("/triggered")
@login_required
def triggered():
    user = _user()
    f = _filters()
    page = _int_arg("page") or 1
    events, total = services.list_events(user, f, page=page)
    deliveries = services.deliveries_for(user, [e.id for e in events])
    return render_view("alerts/triggered.html", "alerts/_events.html", events=events, total=total, page_no=page,
                       per_page=50, f=f, rules=services.list_rules(user), deliveries=deliveries,
                       unread=services.unread_count(user))


@bp.post("/triggered/<int:event_id>/ack")
@login_required
def acknowledge(event_id: int):
    user = _user()
    ev = services.acknowledge(user, event_id)
    if is_htmx():
        return render_template("alerts/_event_row.html", e=ev,
                               deliveries=services.deliveries_for(user, [ev.id]))
    return redirect(request.referrer if _safe_back() else url_for("alerts.triggered"))


def _safe_back() -> bool:
    ref = request.referrer or ""
    return ref.startswith(request.host_url + "alerts")


@bp.post("/triggered/ack-all")
@login_required
def acknowledge_all():
    n = services.acknowledge_all(_user())
    flash(f"{n} alert{'s' if n != 1 else ''} marked as read." if n else "Nothing unread.", "success")
    return redirect(url_for("alerts.triggered"))


@bp.get("/bell")
@login_required
def bell():
    """The header bell: unread count + latest alerts; 304 while the user's version is unchanged."""
    user = _user()
    version = services.bell_version(user.id)
    etag = f"bell-{user.id}-{version}" if version is not None else None
    return versioned_fragment(etag, lambda: render_template(
        "alerts/_bell.html", unread=services.unread_count(user), latest=services.latest_events(user)))


# --------------------------------------------------------------------------- settings
def _settings_context(**forms) -> dict:
    """The settings page's context: its four forms, each fresh unless given (a failed one)."""
    user = _user()
    s = services.get_settings(user)
    return {
        "s": s, "plan": plan_for(user), "sms_configured": services.sms_configured(),
        "form": forms.get("form") or SettingsForm(formdata=None, email_on=s.email_on, sms_on=s.sms_on,
                                                  webhook_on=s.webhook_on, quiet_start=_hhmm(s.quiet_start),
                                                  quiet_end=_hhmm(s.quiet_end)),
        "phone_form": forms.get("phone_form") or PhoneForm(formdata=None, phone=s.phone or ""),
        "code_form": forms.get("code_form") or CodeForm(formdata=None),
        "webhook_form": forms.get("webhook_form") or WebhookForm(formdata=None, webhook_url=s.webhook_url or ""),
    }


def _settings_form(form, form_name: str, call, message):
    """A settings form's submission: back to the page with `message` on success, else the
    page again (422) with this form's errors and the other forms fresh."""
    def done(_):
        flash(message() if callable(message) else message, "success")
        return redirect(url_for("alerts.settings"))

    return submit_form(form, call, done, page="alerts/settings.html", form_name=form_name,
                       context_fn=_settings_context)


def _hhmm(m: int | None) -> str:
    return "" if m is None else f"{m // 60:02d}:{m % 60:02d}"


@bp.get("/settings")
@login_required
def settings():
    return render_view("alerts/settings.html", None, **_settings_context())


@bp.post("/settings")
@login_required
def save_settings():
    form = SettingsForm()
    return _settings_form(form, "form", lambda: services.update_settings(
        _user(), email_on=form.email_on.data, sms_on=form.sms_on.data, webhook_on=form.webhook_on.data,
        quiet_start=form.quiet_start.data or "", quiet_end=form.quiet_end.data or ""),
        "Notification settings saved.")


@bp.post("/settings/phone")
@login_required
def send_code():
    form = PhoneForm()
    # a plan limit (403, usage and plans link) or too many codes (429, Retry-After) is the error handler's
    return _settings_form(form, "phone_form", lambda: services.send_phone_code(_user(), form.phone.data or ""),
                          "We sent a 6-digit code by SMS. Enter it below.")


@bp.post("/settings/phone/verify")
@login_required
def verify_code():
    form = CodeForm()
    return _settings_form(form, "code_form", lambda: services.verify_phone(_user(), form.code.data or ""),
                          "Phone number verified: SMS alerts can go to it now.")


@bp.post("/settings/phone/delete")
@login_required
def remove_phone():
    services.remove_phone(_user())
    flash("Phone number removed; SMS is off for all your alerts.", "success")
    return redirect(url_for("alerts.settings"))


@bp.post("/settings/webhook")
@login_required
def save_webhook():
    form = WebhookForm()
    return _settings_form(form, "webhook_form", lambda: services.set_webhook(_user(), form.webhook_url.data or ""),
                          lambda: "Webhook saved." if form.webhook_url.data else "Webhook removed.")


@bp.post("/settings/webhook/rotate")
@login_required
def rotate_secret():
    services.rotate_webhook_secret(_user())
    flash("New webhook signing secret created: update your receiver.", "success")
    return redirect(url_for("alerts.settings"))



WINDOWS = {"1h": dt.timedelta(hours=1), "24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7)}


@bp.get("/admin/latency")
@admin_required
def admin_latency():
    """Admin: scan -> event -> delivered per channel (p50 / p95) over a recent window."""
    window = request.args.get("window", "24h")
    if window not in WINDOWS:
        window = "24h"
    return render_template("alerts/admin_latency.html", rows=services.latency_by_channel(WINDOWS[window]),
                           window=window, windows=list(WINDOWS))

"""Sign up, sign in (with the 2FA step), sign out, email confirmation, password reset, OAuth."""
from __future__ import annotations

from flask import abort, flash, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from app.auth import bp, oauth, services, throttle, twofactor
from app.auth.forms import ForgotPasswordForm, LoginForm, RegisterForm, ResetPasswordForm, TwoFactorLoginForm
from app.auth.login import finish_login, pending_2fa_user, safe_next, start_pending_2fa
from app.errors import InvalidInput
from app.htmx import redirect, render_form, submit_form
from app.security import client_ip


def _after_login_url(next_url: str | None) -> str:
    return safe_next(next_url) or url_for("dashboards.home")


def _complete(user, remember: bool, next_url: str | None, method: str):
    """Sign the user in, linking a pending OAuth identity they proved ownership of."""
    finish_login(user, remember)
    services.mark_logged_in(user, method)
    pending_link = session.pop("oauth_link", None)
    if pending_link and pending_link.get("email") == user.email:
        try:
            oauth.link(user, pending_link["provider"], pending_link["subject"], pending_link["email"])
            flash(f"{oauth.PROVIDER_LABELS[pending_link['provider']]} is now linked: you can use it to sign in.", "success")
        except InvalidInput as exc:
            flash(exc.message, "error")
    return redirect(_after_login_url(next_url))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("dashboards.home"))
    form = RegisterForm()

    def done(_):
        session["registered_email"] = services.normalise_email(form.email.data)
        return redirect(url_for("auth.registered"))

    return submit_form(
        form, lambda: services.register(form.email.data, form.display_name.data, form.password.data, ip=client_ip()),
        done, page="auth/register.html", partial="auth/_register_form.html", providers=oauth.enabled_providers())


@bp.get("/register/done")
def registered():
    return render_template("auth/registered.html", email=session.get("registered_email"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboards.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))

    def done(result):
        if result.needs_2fa:
            start_pending_2fa(result.user, form.remember.data, form.next.data, "password")
            return redirect(url_for("auth.login_2fa"))
        return _complete(result.user, form.remember.data, form.next.data, "password")

    return submit_form(form, lambda: services.authenticate(form.email.data, form.password.data, client_ip()), done,
                       page="auth/login.html", partial="auth/_login_form.html",
                       providers=oauth.enabled_providers(), oauth_link=session.get("oauth_link"))


@bp.route("/login/2fa", methods=["GET", "POST"])
def login_2fa():
    user, pending = pending_2fa_user()
    if user is None:
        flash("Your sign-in expired. Enter your email and password again.", "info")
        return redirect(url_for("auth.login"))
    form = TwoFactorLoginForm()
    if form.validate_on_submit():
        throttle.attempt(f"2fa:{user.id}", client_ip(), scope="2fa")
        if twofactor.verify_login_code(user, form.code.data):
            throttle.succeeded(f"2fa:{user.id}", client_ip(), scope="2fa")
            return _complete(user, pending.get("remember", False), pending.get("next"), pending.get("method", "password"))
        form.code.errors = ["That code is not correct. Codes change every 30 seconds; try the current one."]
    return render_form("auth/login_2fa.html", "auth/_login_2fa_form.html", form)


@bp.post("/logout")
@login_required
def logout():
    services.mark_logged_out(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("dashboards.landing"))


@bp.get("/confirm/<token>")
def confirm_email(token: str):
    try:
        services.confirm_email(token)
    except InvalidInput as exc:
        return render_template("auth/link_problem.html", message=exc.message), 400
    flash("Thank you: your email address is confirmed.", "success")
    return redirect(url_for("dashboards.home") if current_user.is_authenticated else url_for("auth.login"))


@bp.post("/confirm/resend")
@login_required
def resend_confirmation():
    services.resend_confirmation(current_user._get_current_object())
    flash(f"We sent a new confirmation link to {current_user.email}.", "info")
    return redirect(request.referrer if safe_next(request.referrer) else url_for("accounts.index"))


@bp.get("/email/confirm/<token>")
def confirm_email_change(token: str):
    try:
        services.confirm_email_change(token)
    except InvalidInput as exc:
        return render_template("auth/link_problem.html", message=exc.message), 400
    flash("Your email address is changed.", "success")
    return redirect(url_for("accounts.index") if current_user.is_authenticated else url_for("auth.login"))


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    return submit_form(
        form, lambda: services.request_password_reset(form.email.data, ip=client_ip()),
        lambda _: render_template("auth/forgot_sent.html", email=services.normalise_email(form.email.data)),
        page="auth/forgot.html", partial="auth/_forgot_form.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        services.user_for_reset_token(token)
    except InvalidInput as exc:
        return render_template("auth/link_problem.html", message=exc.message), 400
    form = ResetPasswordForm()

    def done(_):
        flash("Your password is changed. Sign in with the new one.", "success")
        return redirect(url_for("auth.login"))

    return submit_form(form, lambda: services.reset_password(token, form.password.data), done,
                       page="auth/reset.html", partial="auth/_reset_form.html", token=token)


@bp.get("/oauth/<provider>")
def oauth_start(provider: str):
    oauth_client = oauth.client(provider)
    if oauth_client is None:
        abort(404)
    return oauth_client.authorize_redirect(url_for("auth.oauth_callback", provider=provider, _external=True))


@bp.get("/oauth/<provider>/callback")
def oauth_callback(provider: str):
    if oauth.client(provider) is None:
        abort(404)
    if "error" in request.args:
        flash("Sign-in with the provider was cancelled.", "info")
        return redirect(url_for("auth.login"))
    try:
        account = oauth.fetch_account(provider)
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("auth.login"))
    except Exception as exc:  # signature, issuer, audience, nonce or state failures from Authlib
        from flask import current_app

        current_app.logger.warning("OAuth %s sign-in refused: %s", provider, exc)
        flash("Sign-in with the provider failed its security checks. Please try again.", "error")
        return redirect(url_for("auth.login"))

    label = oauth.PROVIDER_LABELS[provider]
    if current_user.is_authenticated:
        try:
            oauth.link(current_user._get_current_object(), provider, account.subject, account.email)
            flash(f"{label} is now linked to your account.", "success")
        except InvalidInput as exc:
            flash(exc.message, "error")
        return redirect(url_for("accounts.index"))

    identity = oauth.identity_for(account)
    if identity is not None:
        user = identity.user
        if not user.active:
            flash(services.INVALID_LOGIN, "error")
            return redirect(url_for("auth.login"))
        if user.has_2fa:
            start_pending_2fa(user, False, None, provider)
            return redirect(url_for("auth.login_2fa"))
        return _complete(user, False, None, provider)

    if services.find_user_by_email(account.email) is not None:
        # Never link by email alone: the owner must prove the account is theirs first.
        session["oauth_link"] = {"provider": provider, "subject": account.subject, "email": account.email}
        flash(f"An account with {account.email} already exists. Sign in with its password to link {label}.", "info")
        return redirect(url_for("auth.login"))

    user = oauth.create_from_provider(account)
    return _complete(user, False, None, provider)

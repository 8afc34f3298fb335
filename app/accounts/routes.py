"""The account page: profile, plan, password, email, two-factor, security activity."""
from __future__ import annotations

from flask import flash, render_template, url_for
from flask_login import current_user, login_required

from app import audit
from app.accounts import bp
from app.accounts.forms import ChangeEmailForm, ChangePasswordForm, ConfirmCodeForm, PasswordAndCodeForm, ProfileForm
from app.auth import oauth, services, twofactor
from app.auth.login import finish_login
from app.billing.plans import plan_for
from app.htmx import redirect, submit_form


def _user():
    return current_user._get_current_object()


@bp.get("")
@login_required
def index():
    user = _user()
    return render_template(
        "accounts/index.html",
        profile_form=ProfileForm(display_name=user.display_name),
        plan=plan_for(user),
        events=audit.recent_for(user, 10),
        labels=audit.LABELS,
        backup_left=twofactor.remaining_backup_codes(user),
        providers=oauth.enabled_providers(),
        linked={i.provider for i in user.identities},
    )


@bp.post("/profile")
@login_required
def profile():
    form = ProfileForm()

    def done(_):
        flash("Profile saved.", "success")
        return redirect(url_for("accounts.index"))

    return submit_form(form, lambda: services.update_profile(_user(), form.display_name.data), done,
                       page="accounts/profile.html", partial="accounts/_profile_form.html")


@bp.get("/security")
@login_required
def security():
    return render_template("accounts/security.html", events=audit.recent_for(_user(), 100), labels=audit.LABELS)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()

    def done(_):
        finish_login(_user(), remember=False)  # keep this session after the version bump
        flash("Password changed. Your other sessions were signed out.", "success")
        return redirect(url_for("accounts.index"))

    return submit_form(
        form, lambda: services.change_password(_user(), form.current_password.data or "", form.new_password.data),
        done, page="accounts/password.html", partial="accounts/_password_form.html")


@bp.route("/email", methods=["GET", "POST"])
@login_required
def change_email():
    form = ChangeEmailForm()

    def done(_):
        flash(f"We sent a confirmation link to {services.normalise_email(form.email.data)}. "
              "Your email changes when you open it.", "info")
        return redirect(url_for("accounts.index"))

    return submit_form(form, lambda: services.request_email_change(_user(), form.password.data or "", form.email.data),
                       done, page="accounts/email.html", partial="accounts/_email_form.html")


@bp.route("/2fa/setup", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    user = _user()
    if user.has_2fa:
        flash("Two-factor authentication is already on.", "info")
        return redirect(url_for("accounts.index"))
    tf = twofactor.begin_setup(user)
    form = ConfirmCodeForm()
    uri = twofactor.provisioning_uri(user, tf)
    return submit_form(form, lambda: twofactor.confirm_setup(user, form.code.data),
                       lambda codes: render_template("accounts/backup_codes.html", codes=codes, first_time=True),
                       page="accounts/two_factor_setup.html", qr=twofactor.qr_svg(uri), secret=twofactor.secret_of(tf))


@bp.route("/2fa/disable", methods=["GET", "POST"])
@login_required
def two_factor_disable():
    form = PasswordAndCodeForm()

    def done(_):
        flash("Two-factor authentication is off.", "info")
        return redirect(url_for("accounts.index"))

    return submit_form(form, lambda: twofactor.disable(_user(), form.password.data or "", form.code.data), done,
                       page="accounts/two_factor_disable.html")


@bp.route("/2fa/backup-codes", methods=["GET", "POST"])
@login_required
def backup_codes():
    form = PasswordAndCodeForm()
    return submit_form(form, lambda: twofactor.regenerate_backup_codes(_user(), form.password.data or "", form.code.data),
                       lambda codes: render_template("accounts/backup_codes.html", codes=codes, first_time=False),
                       page="accounts/backup_codes_form.html")

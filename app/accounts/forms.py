from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from app.forms_util import StrongPassword
from app.forms_util import strip as _strip


class ProfileForm(FlaskForm):
    display_name = StringField("Display name", validators=[DataRequired("Enter a display name."), Length(max=60)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[Length(max=256)])
    new_password = PasswordField("New password", validators=[DataRequired("Choose a new password."), Length(max=256),
                                                             StrongPassword(email_field=None)],
                                 description="At least 10 characters. Other sessions will be signed out.")
    confirm = PasswordField("Repeat new password", validators=[DataRequired("Repeat the new password."),
                                                               EqualTo("new_password", "The two passwords differ.")])


class ChangeEmailForm(FlaskForm):
    email = EmailField("New email", filters=[_strip], validators=[DataRequired("Enter the new address."),
                                                Email("Enter a valid email address."), Length(max=254)])
    password = PasswordField("Current password", validators=[Length(max=256)])


class ConfirmCodeForm(FlaskForm):
    code = StringField("Code from your app", validators=[DataRequired("Enter the 6-digit code."), Length(max=20)])


class PasswordAndCodeForm(FlaskForm):
    password = PasswordField("Password", validators=[Length(max=256)])
    code = StringField("Authentication code", validators=[DataRequired("Enter a code from your app or a backup code."),
                                                          Length(max=20)])

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from app.forms_util import StrongPassword
from app.forms_util import strip as _strip


class RegisterForm(FlaskForm):
    email = EmailField("Email", filters=[_strip], validators=[DataRequired("Enter your email address."),
                                            Email("Enter a valid email address, like name@example.com."),
                                            Length(max=254)])
    display_name = StringField("Display name", validators=[DataRequired("Choose a display name."), Length(max=60)])
    password = PasswordField("Password", validators=[DataRequired("Choose a password."), Length(max=256),
                                                     StrongPassword()],
                             description="At least 10 characters; a few unrelated words work well.")
    confirm = PasswordField("Repeat password", validators=[DataRequired("Repeat the password."),
                                                           EqualTo("password", "The two passwords differ.")])


class LoginForm(FlaskForm):
    email = EmailField("Email", filters=[_strip], validators=[DataRequired("Enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=256)])
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()


class TwoFactorLoginForm(FlaskForm):
    code = StringField("Authentication code", validators=[DataRequired("Enter the code from your app."),
                                                          Length(max=20)],
                       description="The 6-digit code from your authenticator app, or one of your backup codes.")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", filters=[_strip], validators=[DataRequired("Enter your email address."),
                                            Email("Enter a valid email address."), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Choose a new password."), Length(max=256),
                                                         StrongPassword(email_field=None)])
    confirm = PasswordField("Repeat new password", validators=[DataRequired("Repeat the password."),
                                                               EqualTo("password", "The two passwords differ.")])

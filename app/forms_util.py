"""Small WTForms helpers shared by the domains' forms."""
from __future__ import annotations


def strip(value):
    return value.strip() if isinstance(value, str) else value


class StrongPassword:
    """WTForms validator: the same strength rules as the services (so every problem is shown
    in the first round of errors). `email_field` names the form field holding the email."""

    def __init__(self, email_field: str | None = "email"):
        self.email_field = email_field

    def __call__(self, form, field):
        from wtforms.validators import StopValidation

        from app.security import password_problems

        email = ""
        if self.email_field and getattr(form, self.email_field, None) is not None:
            email = getattr(form, self.email_field).data or ""
        problems = password_problems(field.data or "", email=email)
        if problems:
            raise StopValidation(" ".join(problems))

"""Forms of the learn pages (admin lesson editing)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LessonForm(FlaskForm):
    title = StringField("Title", filters=[_strip], validators=[DataRequired("Give the lesson a title."), Length(max=160)])
    summary = TextAreaField("Summary", filters=[_strip], validators=[Length(max=500)],
                            description="One sentence shown in the path's lesson list.",
                            render_kw={"rows": 2})
    minutes = IntegerField("Estimated minutes", validators=[InputRequired("How long does it take to read?"),
                                                            NumberRange(1, 240, "Minutes must be from 1 to 240.")])
    body = TextAreaField("Lesson (markdown)", validators=[DataRequired("The lesson needs a body."),
                                                          Length(max=100_000)],
                         description="Markdown: ## headings, lists, tables, `code`. Raw HTML is shown as text.")

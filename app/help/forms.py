"""Forms of the help pages (admin article editing)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ArticleForm(FlaskForm):
    title = StringField("Title", filters=[_strip], validators=[DataRequired("Give the article a title."), Length(max=160)])
    summary = TextAreaField("Summary", filters=[_strip], validators=[Length(max=500)], render_kw={"rows": 2},
                            description="One sentence shown in the lists and search results.")
    tags = StringField("Tags", filters=[_strip], validators=[Length(max=300)],
                       description="Lower-case words separated by spaces or commas, e.g. alerts webhook.")
    body = TextAreaField("Article (markdown)", validators=[DataRequired("The article needs a body."),
                                                           Length(max=100_000)],
                         description="Markdown: ## headings, lists, tables, `code`. Raw HTML is shown as text.")

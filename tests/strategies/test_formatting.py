"""One number formatter (issue 11, B6): every Jinja filter comes from app.formatting, and no
other module registers one. (Here beside the metric docs that use the filters.)"""
from __future__ import annotations

import datetime as dt
import pathlib
import re

import pytest
from markupsafe import Markup

from app import formatting as f

APP = pathlib.Path(__file__).resolve().parents[2] / "app"
TEMPLATES = APP.parent / "templates"


def test_every_filter_is_registered_from_the_one_module(app):
    for name, fn in f.FILTERS.items():
        assert app.jinja_env.filters[name] is fn, name


def test_no_other_module_registers_filters():
    pattern = re.compile(r"app_template_filter|template_filter\(|jinja_env\.filters")
    offenders = [str(p.relative_to(APP)) for p in APP.rglob("*.py")
                 if p.name != "formatting.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_every_filter_the_templates_use_exists(app):
    builtin = set(app.jinja_env.filters) - set(f.FILTERS)
    used = set()
    for p in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"\|\s*([a-z_]+)", p.read_text(encoding="utf-8")))
    assert used - builtin - set(f.FILTERS) == set()


@pytest.mark.parametrize("fn,value,want", [
    (f.fmt_price, 1234.5, "1,234.50"), (f.fmt_price, 0.12345, "0.1235"), (f.fmt_price, None, "—"),
    (f.fmt_price, float("nan"), "—"), (f.fmt_money, -10, "−$10.00"), (f.fmt_money, 1234.5, "$1,234.50"),
    (f.fmt_num, 1234.5678, "1,234.57"), (f.fmt_count, 12345, "12,345"), (f.fmt_percent, 0.1234, "12.3 %"),
    (f.fmt_duration, 3 * 3600 + 300, "3h 5m"), (f.fmt_duration, None, "—"),
])
def test_formats(fn, value, want):
    assert fn(value) == want


def test_marked_up_formats():
    assert f.fmt_change(1.25) == Markup('<span class="num up">▲ +1.25%</span>')
    assert f.fmt_pnl(-10) == Markup('<span class="num down">▼ −$10.00</span>')
    assert f.fmt_abbrev(1_234_000_000) == Markup('<span class="num" title="1,234,000,000">1.2B</span>')
    assert f.fmt_ticks("use `sma(close, 5)` <b>") == Markup("use <code>sma(close, 5)</code> &lt;b&gt;")
    assert f.fmt_et(dt.datetime(2026, 11, 27, 19, 31, tzinfo=dt.UTC)) == "Nov 27, 2026 14:31 ET"

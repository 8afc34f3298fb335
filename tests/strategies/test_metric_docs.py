"""Issue 11, A11: every displayed metric names its formula and unit where it is shown, and
says how it differs from backtesting.py where it does."""
from __future__ import annotations

import html as html_lib
import re

from app.paper import metrics as m
from tests.strategies.test_leaderboard import _fill_board

SHARPE_FORMULA = "mean(r − rf) / stdev(r − rf) × √252"


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def test_every_metric_has_a_formula_and_a_unit():
    for d in m.DOCS:
        assert d.label and d.formula and d.unit, d.key
        assert d.formula in d.title and d.unit in d.title
    assert m.DOC["sharpe"].formula.startswith(SHARPE_FORMULA)
    assert "backtesting.py" in m.DOC["sharpe"].title
    # the drawdown duration counts daily bars: the unit says so (it said "days" before)
    assert m.DOC["max_drawdown_duration"].unit == "trading days (daily bars), not calendar days"
    assert m.max_drawdown([100, 90, 95, 99, 101]).duration == 3  # 3 bars under the peak


def test_leaderboard_shows_the_sharpe_formula(client, login, owner, bars):
    stock = bars.add("WIN", n=30)
    _fill_board(owner, stock, 2)
    login(owner)
    for url in ("/leaderboard?timeframe=weekly", "/leaderboard/rows?timeframe=weekly"):
        page = _text(client.get(url))
        assert SHARPE_FORMULA in page, url
        footnotes = page[page.index('id="board-formulas"'):]
        for key in ("annualised_return", "sharpe", "max_drawdown", "win_rate"):
            assert m.DOC[key].formula in footnotes and m.DOC[key].unit in footnotes
        assert re.search(r'title="[^"]*Sharpe = mean\(r − rf\)', page)
        assert "0.30 × performance" in page  # the score's formula
        assert "Age (days)" in page and "calendar days since forward tracking started" in page


def test_backtest_page_names_formulas_units_and_the_drawdown_duration_in_bars(client, login, csrf, owner,
                                                                                strategy):
    login(owner)
    tok = csrf(client, f"/strategies/{strategy.id}")
    r = client.post(f"/strategies/{strategy.id}/backtests", data={"csrf_token": tok, "capital": "100000"})
    page = _text(client.get(r.headers["Location"]))
    table = page[page.index('id="metrics"'):page.index("</table>", page.index('id="metrics"'))]
    rows = re.findall(r"<tr title=\"([^\"]*)\"><th scope=\"row\">([^<]*)</th>", table)
    assert [label for _, label in rows] == [d.label for d in m.DOCS]
    row = table[table.index(">Longest drawdown<"):]
    row = row[:row.index("</tr>")]
    assert "trading days (daily bars), not calendar days" in row
    assert "longest run of consecutive daily bars" in row
    assert "calendar time from the peak to the recovery" in row  # backtesting.py's differs
    sharpe = table[table.index(">Sharpe<"):]
    assert SHARPE_FORMULA in sharpe[:sharpe.index("</tr>")]
    # the detail page shows the same table with the backtest
    detail = _text(client.get(f"/strategies/{strategy.id}"))
    assert SHARPE_FORMULA in detail and "trading days (daily bars)" in detail


def test_paper_account_stats_name_their_formulas(client, login, owner):
    from app.paper import services as ledger

    account = ledger.open_account(owner, "Main")
    login(owner)
    page = _text(client.get(f"/paper/{account.id}"))
    assert "total return = equity / starting balance − 1" in page
    assert "cost basis" in page and "after commissions" in page

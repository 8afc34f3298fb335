"""The leaderboard keeps all its state in the URL: category tabs keep the timeframe, search
and page size; pagination keeps them too; changing the controls (HTMX) pushes the full
address and re-sends the tabs so they never carry a stale timeframe."""
from __future__ import annotations

import html as html_lib
import re

import pytest

from tests.strategies.test_leaderboard import _fill_board


@pytest.fixture()
def board(client, login, owner, bars):
    _fill_board(owner, bars.add("WIN", n=30), 6)
    login(owner)


def hrefs(page: str, pattern: str) -> list[str]:
    return [html_lib.unescape(h) for h in re.findall(r'href="(' + pattern + r'[^"]*)"', page)]


def test_category_tabs_keep_timeframe_search_and_page_size(client, board):
    page = client.get("/leaderboard?category=overall&timeframe=weekly&q=al&per_page=2&page=2").get_data(as_text=True)
    tabs = re.search(r'<nav class="tabs" id="board-tabs".*?</nav>', page, re.S).group(0)
    links = hrefs(tabs, "/leaderboard")
    assert "/leaderboard?category=momentum&timeframe=weekly&q=al&per_page=2" in links
    assert len(links) == len(set(links)) and all("timeframe=weekly" in h and "q=al" in h for h in links)


def test_pagination_keeps_page_size(client, board):
    page = client.get("/leaderboard?timeframe=weekly&per_page=2&page=2").get_data(as_text=True)
    assert hrefs(page, "/leaderboard") [-2:] == [
        "/leaderboard?category=overall&timeframe=weekly&page=1&per_page=2",
        "/leaderboard?category=overall&timeframe=weekly&page=3&per_page=2"]


def test_changing_the_controls_pushes_the_url_and_refreshes_the_tabs(client, hx, board):
    r = hx.get("/leaderboard/rows?category=momentum&timeframe=monthly&q=al",
               headers={"HX-Trigger": "board-controls"})
    assert r.status_code == 200
    assert r.headers["HX-Push-Url"] == "/leaderboard?category=momentum&timeframe=monthly&q=al"
    body = r.get_data(as_text=True)
    tabs = re.search(r'<nav class="tabs" id="board-tabs" aria-label="Categories" hx-swap-oob="true">.*?</nav>',
                     body, re.S).group(0)
    assert "/leaderboard?category=overall&timeframe=monthly&q=al" in hrefs(tabs, "/leaderboard")


def test_the_poll_does_not_push_or_resend_tabs(client, hx, board):
    r = hx.get("/leaderboard/rows?category=overall&timeframe=monthly", headers={"HX-Trigger": "board"})
    assert "HX-Push-Url" not in r.headers and "board-tabs" not in r.get_data(as_text=True)
    assert r.headers["ETag"]

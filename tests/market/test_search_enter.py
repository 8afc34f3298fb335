"""Enter in a symbol search (go=1): an exact symbol or the only match opens that stock; more
than one match shows the results page. Suggestions are an accessible listbox."""
from __future__ import annotations

import pytest

from tests.screener import universe as _universe


@pytest.fixture()
def signed_in(client, login, db, factories):
    _universe.build()  # AAA … EEE, names "Aaa Corp" …
    login(factories.user())


def test_enter_with_exactly_one_match_opens_the_stock(client, signed_in):
    r = client.get("/stocks/search?q=bbb%20c&go=1")  # only "Bbb Corp" contains "bbb c"
    assert r.status_code == 303 and r.headers["Location"] == "/stocks/BBB"


def test_enter_with_an_exact_symbol_opens_it(client, signed_in):
    r = client.get("/stocks/search?q=ccc&go=1")
    assert r.status_code == 303 and r.headers["Location"] == "/stocks/CCC"


def test_enter_with_several_matches_lists_them(client, signed_in):
    r = client.get("/stocks/search?q=corp&go=1")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "/stocks/AAA" in page and "/stocks/BBB" in page


def test_no_redirect_without_go(client, signed_in):
    assert client.get("/stocks/search?q=bbb%20c").status_code == 200


def test_suggestions_are_an_accessible_listbox(client, hx, signed_in):
    html = hx.get("/stocks/search?q=corp").get_data(as_text=True)
    assert 'role="listbox"' in html
    assert '<li role="option" id="suggest-1" aria-selected="false" data-href="/stocks/AAA">' in html
    page = client.get("/home").get_data(as_text=True)
    assert 'role="combobox" aria-controls="nav-suggest" aria-autocomplete="list" aria-expanded="false"' in page

from app.market.universe import SYMBOL_RE, seed_universe


def test_seed_universe_us_listed_unique_symbols():
    rows = seed_universe()
    syms = [r["symbol"] for r in rows]
    assert len(rows) > 1000
    assert len(set(syms)) == len(syms)
    assert all(s == s.upper() and len(s) <= 10 and SYMBOL_RE.match(s) for s in syms)
    by = {r["symbol"]: r for r in rows}
    assert by["AAPL"]["name"] == "Apple Inc." and by["AAPL"]["exchange"] == "NASDAQ"
    assert by["BRK.B"]["exchange"] == "NYSE"
    assert "1U1" not in by            # German listing only
    assert "AAFRF" not in by          # OTC quote of a foreign share
    assert all(r["sector"] for r in rows if r["symbol"] in ("AAPL", "JPM", "XOM"))

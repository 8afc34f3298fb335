def test_smoke(client, login, strategy, owner, other, csrf):
    login(owner)
    r = client.get("/strategies")
    assert r.status_code == 200, r.data[:2000]
    r = client.get(f"/strategies/{strategy.id}")
    assert r.status_code == 200, r.get_data(as_text=True)[:3000]
    tok = csrf(client, f"/strategies/{strategy.id}")
    r = client.post(f"/strategies/{strategy.id}/backtests", data={"csrf_token": tok, "capital": "100000", "slippage_bps": "5", "commission": "0"})
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]
    r = client.get(r.headers["Location"])
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:3000]
    assert "Monthly returns" in html, html[:5000]
    r = client.get("/strategies/new?template=sma_cross"); assert r.status_code == 200
    r = client.get("/leaderboard"); assert r.status_code == 200, r.get_data(as_text=True)[:3000]
    r = client.post(f"/strategies/{strategy.id}/track", data={"csrf_token": tok}); assert r.status_code == 303
    r = client.get(f"/strategies/{strategy.id}"); assert r.status_code == 200, r.get_data(as_text=True)[:3000]
    print(r.get_data(as_text=True)[-3000:])

// Stock page chart: candlesticks, volume pane and SMA overlays from our own JSON endpoint
// (data-chart-url). Uses the vendored lightweight-charts standalone build.
(function () {
  "use strict";
  var el = document.getElementById("stock-chart");
  if (!el || !window.LightweightCharts) return;
  var LC = window.LightweightCharts;
  var status = document.querySelector("[data-chart-status]");
  var css = getComputedStyle(document.documentElement);
  function v(name, fallback) { return (css.getPropertyValue(name) || "").trim() || fallback; }
  var up = v("--up", "#067647"), down = v("--down", "#b42318");

  var chart = LC.createChart(el, {
    autoSize: true,
    // the logo injects an inline <style> (blocked by our CSP): attribution is a text link below
    layout: { attributionLogo: false, background: { color: "transparent" }, textColor: v("--muted", "#5b6472"), fontSize: 12,
              panes: { separatorColor: v("--border", "#dde1e7") } },
    grid: { vertLines: { color: v("--border", "#dde1e7") }, horzLines: { color: v("--border", "#dde1e7") } },
    rightPriceScale: { borderColor: v("--border", "#dde1e7") },
    timeScale: { borderColor: v("--border", "#dde1e7"), rightOffset: 3 },
    crosshair: { mode: LC.CrosshairMode.Normal }
  });
  var candles = chart.addSeries(LC.CandlestickSeries, {
    upColor: up, downColor: down, borderUpColor: up, borderDownColor: down, wickUpColor: up, wickDownColor: down
  });
  var colors = { sma20: "#2563eb", sma50: "#d97706", sma200: "#9333ea" };
  var smas = {};
  Object.keys(colors).forEach(function (k) {
    smas[k] = chart.addSeries(LC.LineSeries, { color: colors[k], lineWidth: 2, priceLineVisible: false,
                                               lastValueVisible: false, crosshairMarkerVisible: false });
  });
  var volume = chart.addSeries(LC.HistogramSeries, { priceFormat: { type: "volume" }, priceLineVisible: false }, 1);
  try { chart.panes()[1].setHeight(90); } catch (e) {}

  function load(range) {
    if (status) status.textContent = "Loading " + range + "…";
    fetch(el.getAttribute("data-chart-url") + "?range=" + encodeURIComponent(range), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (d) {
        var prec = d.candles.length && d.candles[d.candles.length - 1].close < 1 ? 4 : 2;
        candles.applyOptions({ priceFormat: { type: "price", precision: prec, minMove: prec === 4 ? 0.0001 : 0.01 } });
        candles.setData(d.candles);
        volume.setData(d.volume.map(function (b) {
          return { time: b.time, value: b.value, color: b.up ? up + "88" : down + "88" };
        }));
        Object.keys(smas).forEach(function (k) { smas[k].setData(d.sma[k] || []); });
        chart.applyOptions({ timeScale: { timeVisible: d.intraday, secondsVisible: false } });
        chart.timeScale().fitContent();
        if (status) {
          status.textContent = (d.candles.length ? d.candles.length + " " + (d.intraday ? d.interval + " bars" : "daily bars") : "No bars stored for this range yet") +
            " · times in ET" + (d.simulated ? " · simulated prices" : "");
        }
      })
      .catch(function (err) { if (status) status.textContent = "Could not load the chart (" + err.message + ")."; });
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-range]");
    if (!b) return;
    document.querySelectorAll("[data-range]").forEach(function (x) {
      x.classList.toggle("active", x === b);
      x.setAttribute("aria-pressed", x === b ? "true" : "false");
    });
    load(b.getAttribute("data-range"));
  });
  load((document.querySelector("[data-range].active") || {}).getAttribute ? document.querySelector("[data-range].active").getAttribute("data-range") : "1Y");
})();

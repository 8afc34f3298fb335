// Equity curve of a paper account: data from our own JSON endpoint, drawn with the
// vendored lightweight-charts (no inline script: CSP).
(function () {
  "use strict";
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function draw(el) {
    if (!window.LightweightCharts || el.dataset.drawn) return;
    el.dataset.drawn = "1";
    fetch(el.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || !data.equity || !data.equity.length) return;
        el.classList.add("has-data");
        var LC = window.LightweightCharts;
        var chart = LC.createChart(el, {
          autoSize: true,
          layout: { background: { color: "transparent" }, textColor: css("--muted") || "#666", attributionLogo: false },
          grid: { vertLines: { visible: false }, horzLines: { color: css("--border") || "#ddd" } },
          rightPriceScale: { borderVisible: false }, timeScale: { borderVisible: false }
        });
        var up = data.equity[data.equity.length - 1].value >= data.starting_balance;
        var color = css(up ? "--up" : "--down") || (up ? "#16a34a" : "#dc2626");
        var series = chart.addSeries(LC.AreaSeries, { lineColor: color, topColor: color + "55", bottomColor: color + "05", lineWidth: 2 });
        series.setData(data.equity);
        chart.timeScale().fitContent();
      })
      .catch(function () {});
  }
  function init() { document.querySelectorAll("[data-equity-chart]").forEach(draw); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();

// Strategy charts: equity (with a benchmark line) and drawdown from our own JSON endpoints,
// drawn with the vendored lightweight-charts (no inline script: CSP).
(function () {
  "use strict";
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function chartFor(el) {
    var LC = window.LightweightCharts;
    return LC.createChart(el, {
      autoSize: true,
      layout: { background: { color: "transparent" }, textColor: css("--muted") || "#666", attributionLogo: false },
      grid: { vertLines: { visible: false }, horzLines: { color: css("--border") || "#ddd" } },
      rightPriceScale: { borderVisible: false }, timeScale: { borderVisible: false }
    });
  }
  var cache = {};
  function load(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; });
    }
    return cache[url];
  }
  function drawEquity(el) {
    if (!window.LightweightCharts || el.dataset.drawn) return;
    el.dataset.drawn = "1";
    load(el.getAttribute("data-url")).then(function (data) {
      if (!data || !data.equity || !data.equity.length) return;
      el.classList.add("has-data");
      var LC = window.LightweightCharts, chart = chartFor(el);
      var up = data.equity[data.equity.length - 1].value >= (data.starting_balance || data.equity[0].value);
      var color = css(up ? "--up" : "--down") || (up ? "#16a34a" : "#dc2626");
      chart.addSeries(LC.AreaSeries, { lineColor: color, topColor: color + "55", bottomColor: color + "05", lineWidth: 2, title: "Strategy" })
        .setData(data.equity);
      if (data.benchmark && data.benchmark.length) {
        chart.addSeries(LC.LineSeries, { color: css("--muted") || "#888", lineWidth: 1, lineStyle: 2, title: "Benchmark" })
          .setData(data.benchmark);
      }
      chart.timeScale().fitContent();
    }).catch(function () {});
  }
  function drawDrawdown(el) {
    if (!window.LightweightCharts || el.dataset.drawn) return;
    el.dataset.drawn = "1";
    load(el.getAttribute("data-url")).then(function (data) {
      if (!data || !data.drawdown || !data.drawdown.length) return;
      var LC = window.LightweightCharts, chart = chartFor(el);
      var red = css("--down") || "#dc2626";
      chart.addSeries(LC.AreaSeries, { lineColor: red, topColor: red + "05", bottomColor: red + "55", lineWidth: 1, title: "Drawdown %" })
        .setData(data.drawdown);
      chart.timeScale().fitContent();
    }).catch(function () {});
  }
  function init() {
    document.querySelectorAll("[data-strategy-chart]").forEach(drawEquity);
    document.querySelectorAll("[data-drawdown-chart]").forEach(drawDrawdown);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();

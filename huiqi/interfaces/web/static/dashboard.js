// 惠企 驾驶舱: the sector growth chart (ECharts options built by huiqi.services.monitoring.sector_chart, embedded as
// JSON by the server; no inline scripts under the Content-Security-Policy) and the list cards.
(function () {
  var font = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif';
  function draw() {
    var el = document.getElementById("sector-chart-data");
    var box = document.getElementById("sector-chart");
    if (!el || !box || typeof echarts === "undefined") return;
    var opt = JSON.parse(el.textContent);
    var meta = opt.huiqi || {};
    delete opt.huiqi;
    if (opt.tooltip && typeof opt.tooltip.valueFormatter === "string") {
      var tpl = opt.tooltip.valueFormatter;
      opt.tooltip.valueFormatter = function (v) { return v === null || v === undefined || v === "-" ? "—" : tpl.replace("{value}", v); };
    }
    opt.textStyle = { fontFamily: font };
    if (opt.title) opt.title.top = 4;
    if (opt.legend) opt.legend.top = 34;
    if (opt.grid) opt.grid.top = 76;
    var status = meta.status || [];
    if (opt.series && opt.series[0]) {  // 实际增速: green when the target is met, red when not
      opt.series[0].itemStyle = { color: function (p) {
        var s = status[p.dataIndex];
        return s === "达到" ? "#1a7f37" : (s === "未达到" ? "#a4262c" : "#1f4e8c"); } };
    }
    if (opt.series && opt.series[1]) opt.series[1].itemStyle = { color: "#c9a227" };
    var chart = echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(opt);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  // the list cards: mark the one shown
  document.addEventListener("click", function (e) {
    var card = e.target.closest(".card[data-list]");
    if (!card) return;
    document.querySelectorAll(".card[data-list]").forEach(function (c) { c.classList.toggle("on", c === card); });
  });
  // another period: a quarter not screened yet is computed on its first visit (1–2 s): say so while it loads
  document.addEventListener("submit", function (e) {
    if (e.target.id !== "period-form") return;
    var busy = document.getElementById("dashboard-busy");
    if (busy) busy.hidden = false;
  });
  if (document.readyState !== "loading") draw(); else document.addEventListener("DOMContentLoaded", draw);
})();

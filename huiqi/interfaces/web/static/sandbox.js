// 惠企 政策沙盘: baseline-vs-scenario bar charts (ECharts from /static/vendor/echarts.min.js). The results arrive
// by htmx; the data is embedded as JSON by the server (no inline scripts: the Content-Security-Policy forbids them).
(function () {
  var font = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif';
  var charts = [];

  function draw(root) {
    var el = (root || document).querySelector("#sandbox-chart-data");
    if (!el || typeof echarts === "undefined") return;
    var data = JSON.parse(el.textContent);
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
    document.querySelectorAll(".chart[data-dim]").forEach(function (box) {
      var items = data[box.dataset.dim] || [];
      var chart = echarts.init(box, null, { renderer: "canvas" });
      chart.setOption({
        textStyle: { fontFamily: font },
        title: { text: box.dataset.title + (items.length ? "" : "（无数据）"), left: "center", textStyle: { fontSize: 14 } },
        legend: { data: ["基线", "情景"], bottom: 0 },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
          formatter: function (p) {
            var d = items[p[0].dataIndex];
            return d.label + "<br>基线 " + d.base_wan + " 万元，" + d.base_n + " 户<br>情景 " + d.scen_wan + " 万元，" + d.scen_n + " 户";
          } },
        grid: { left: 130, right: 30, top: 40, bottom: 50 },
        xAxis: { type: "value", name: "万元" },
        yAxis: { type: "category", data: items.map(function (d) { return d.label; }), inverse: true,
          axisLabel: { width: 120, overflow: "truncate" } },
        series: [
          { name: "基线", type: "bar", data: items.map(function (d) { return Number(d.base_wan); }), itemStyle: { color: "#9aa9bd" } },
          { name: "情景", type: "bar", data: items.map(function (d) { return Number(d.scen_wan); }), itemStyle: { color: "#1f4e8c" } }
        ]
      });
      charts.push(chart);
    });
  }

  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  if (document.readyState !== "loading") draw(document); else document.addEventListener("DOMContentLoaded", function () { draw(document); });
})();

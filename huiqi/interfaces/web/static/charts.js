// 惠企: award-list charts (ECharts from /static/vendor/echarts.min.js), data embedded as JSON by the server.
(function () {
  var el = document.getElementById("chart-data");
  if (!el || typeof echarts === "undefined") return;
  var data = JSON.parse(el.textContent);
  var font = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif';
  document.querySelectorAll(".chart[data-chart]").forEach(function (box) {
    var items = (data[box.dataset.chart] || []).slice(0, box.dataset.chart === "by_county" ? 20 : 30);
    var chart = echarts.init(box, null, { renderer: "canvas" });
    var labels = items.map(function (d) { return d.label; });
    var values = items.map(function (d) { return Number(d.amount_wan); });
    chart.setOption({
      textStyle: { fontFamily: font },
      title: { text: box.dataset.title + (items.length ? "" : "（无数据）"), left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
        formatter: function (p) { var d = items[p[0].dataIndex]; return d.label + "<br>" + d.amount_wan + " 万元，" + d.n + " 户"; } },
      grid: { left: 150, right: 30, top: 40, bottom: 30 },
      xAxis: { type: "value", name: "万元" },
      yAxis: { type: "category", data: labels, inverse: true, axisLabel: { width: 140, overflow: "truncate" } },
      series: [{ type: "bar", data: values, itemStyle: { color: "#1f4e8c" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();

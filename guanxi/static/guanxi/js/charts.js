/*
 * guanxi dashboards: draws every chart container ([data-chart-source]) with Apache ECharts
 * from the JSON the server rendered beside it (json_script). The server sends the data,
 * the translated labels and, for every bar, cell, point or flow, the URL of the customer
 * list behind it: a click opens that list. Charts are (re)drawn on page load and after
 * every HTMX swap (a filter change), and disposed before their container is swapped out.
 * No inline script: this file and echarts.min.js are the only code the page runs.
 */
(function () {
  'use strict';

  var lang = (document.documentElement.lang || 'en').toLowerCase();
  var locale = lang.indexOf('zh') === 0 ? 'ZH' : 'EN';
  var integer = new Intl.NumberFormat(lang);
  var decimal = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  var COLORS = ['#206bc4', '#4299e1', '#a8c5ec', '#2fb344', '#f59f00', '#d63939', '#ae3ec9'];
  var GRADE_COLORS = { A: '#206bc4', B: '#4299e1', C: '#a8c5ec' };
  var STAGE_COLORS = {
    absent: '#adb5bd', prospect: '#a8c5ec', customer: '#4299e1', client: '#206bc4',
    supporter: '#2fb344', advocate: '#0ca678', churned: '#d63939'
  };
  var QUADRANT_COLORS = {
    true_friends: '#2fb344', butterflies: '#f59f00', barnacles: '#4299e1', strangers: '#868e96'
  };

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function axisText(name) {
    return { name: name, nameLocation: 'middle', nameGap: 32 };
  }

  function merge(target, extra) {
    Object.keys(extra).forEach(function (key) { target[key] = extra[key]; });
    return target;
  }

  var builders = {
    line: function (spec) {
      return {
        tooltip: { trigger: 'axis', valueFormatter: function (v) { return decimal.format(v); } },
        grid: { left: 80, right: 24, top: 24, bottom: 48 },
        xAxis: merge({ type: 'category', data: spec.points.map(function (p) { return p.x; }) },
          axisText(spec.x_label)),
        yAxis: { type: 'value', name: spec.y_label },
        series: [{
          type: 'line', name: spec.series_label, smooth: false, symbolSize: 8,
          data: spec.points.map(function (p) { return { value: p.y, url: p.url }; })
        }]
      };
    },

    pareto: function (spec) {
      var series = spec.series.map(function (s) {
        return {
          type: 'bar', stack: 'share', name: s.label, itemStyle: { color: GRADE_COLORS[s.key] },
          data: s.data.map(function (d) {
            return { value: d.value, url: d.url };
          })
        };
      });
      series.push({
        type: 'line', name: spec.line_label, yAxisIndex: 1, symbolSize: 6,
        itemStyle: { color: '#d63939' }, data: spec.line,
        markLine: {
          silent: true, symbol: 'none', lineStyle: { type: 'dashed', color: '#868e96' },
          data: spec.marks.map(function (m) { return { yAxis: m }; })
        }
      });
      return {
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' },
          valueFormatter: function (v) { return decimal.format(v) + '%'; } },
        legend: { top: 0 },
        grid: { left: 56, right: 56, top: 40, bottom: 64 },
        xAxis: merge({ type: 'category', data: spec.categories, axisLabel: { rotate: 45 } },
          { name: spec.x_label, nameLocation: 'middle', nameGap: 50 }),
        yAxis: [
          { type: 'value', name: spec.bar_axis, min: 0 },
          { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } }
        ],
        series: series
      };
    },

    rfm_grid: function (spec) {
      var cells = [];
      var max = 1;
      spec.rows.forEach(function (row) {
        row.cells.forEach(function (c) {
          max = Math.max(max, c.customers);
          cells.push({ value: [c.f - 1, c.r - 1, c.customers], url: c.url, spend: c.spend, clv: c.clv });
        });
      });
      return {
        tooltip: {
          formatter: function (p) {
            var d = p.data;
            return 'R ' + (d.value[1] + 1) + ', F ' + (d.value[0] + 1) + '<br>' +
              esc(spec.customers_label) + ': ' + integer.format(d.value[2]) + '<br>' +
              esc(spec.spend_label) + ': ' + decimal.format(d.spend) + '<br>' +
              esc(spec.clv_label) + ': ' + decimal.format(d.clv);
          }
        },
        grid: { left: 64, right: 16, top: 16, bottom: 96 },
        xAxis: merge({ type: 'category', data: ['1', '2', '3', '4', '5'], splitArea: { show: true } },
          axisText(spec.x_label)),
        yAxis: merge({ type: 'category', data: ['1', '2', '3', '4', '5'], splitArea: { show: true } },
          { name: spec.y_label, nameLocation: 'middle', nameGap: 32 }),
        visualMap: { min: 0, max: max, calculable: false, orient: 'horizontal', left: 'center',
          bottom: 0, inRange: { color: ['#f1f5fb', '#206bc4'] } },
        series: [{ type: 'heatmap', data: cells, label: { show: true,
          formatter: function (p) { return integer.format(p.data.value[2]); } } }]
      };
    },

    bars: function (spec) {
      return {
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' },
          formatter: function (items) {
            var d = items[0].data;
            return esc(items[0].name) + '<br>' + esc(spec.value_label) + ': ' +
              integer.format(d.value) + '<br>' + esc(spec.extra_label) + ': ' + decimal.format(d.spend);
          } },
        grid: { left: 140, right: 24, top: 16, bottom: 40 },
        xAxis: { type: 'value', name: spec.value_label },
        yAxis: { type: 'category', inverse: true, data: spec.bars.map(function (b) { return b.label; }) },
        series: [{ type: 'bar', itemStyle: { color: COLORS[0] },
          data: spec.bars.map(function (b) { return { value: b.customers, url: b.url, spend: b.spend }; }) }]
      };
    },

    ladder: function (spec) {
      // The ladder from its first rung up (lapsed last), as horizontal bars.
      return {
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' },
          valueFormatter: function (v) { return integer.format(v); } },
        grid: { left: 140, right: 48, top: 8, bottom: 32 },
        xAxis: { type: 'value', name: spec.value_label },
        yAxis: { type: 'category', inverse: true, data: spec.stages.map(function (s) { return s.label; }) },
        series: [{
          type: 'bar', name: spec.value_label,
          label: { show: true, position: 'right', formatter: function (p) { return integer.format(p.value); } },
          data: spec.stages.map(function (s) {
            return { value: s.customers, url: s.url, itemStyle: { color: STAGE_COLORS[s.key] } };
          })
        }]
      };
    },

    sankey: function (spec) {
      var labels = {};
      spec.nodes.forEach(function (n) { labels[n.name] = n.label; });
      return {
        tooltip: { trigger: 'item', formatter: function (p) {
          if (p.dataType === 'edge') {
            return esc(labels[p.data.source]) + ' → ' + esc(labels[p.data.target]) + ': ' +
              integer.format(p.data.value);
          }
          return esc(labels[p.name] || p.name) + ': ' + integer.format(p.value);
        } },
        series: [{
          type: 'sankey', left: 8, right: 8, top: 8, bottom: 8, nodeAlign: 'justify',
          emphasis: { focus: 'adjacency' }, lineStyle: { color: 'gradient', opacity: 0.4 },
          label: { formatter: function (p) { return labels[p.name] || p.name; } },
          data: spec.nodes.map(function (n) {
            return { name: n.name, depth: n.depth,
              itemStyle: { color: STAGE_COLORS[n.name.split(':')[1]] },
              label: { position: n.depth === 0 ? 'right' : 'left' } };
          }),
          links: spec.flows.map(function (f) {
            return { source: 'from:' + f.source, target: 'to:' + f.target, value: f.customers, url: f.url };
          })
        }]
      };
    },

    cohort_heatmap: function (spec) {
      var cells = spec.cells.map(function (c) {
        return { value: [spec.dates.indexOf(c.date), spec.cohorts.indexOf(c.cohort), c.share],
          url: c.url, customers: c.customers, retained: c.retained, months: c.months_since };
      });
      return {
        tooltip: { formatter: function (p) {
          var d = p.data;
          return esc(spec.cohorts[d.value[1]]) + ' · ' + esc(spec.dates[d.value[0]]) + '<br>' +
            esc(spec.share_label) + ': ' + decimal.format(d.value[2]) + '<br>' +
            esc(spec.retained_label) + ': ' + integer.format(d.retained) + ' / ' +
            integer.format(d.customers);
        } },
        grid: { left: 80, right: 16, top: 16, bottom: 96 },
        xAxis: merge({ type: 'category', data: spec.dates, splitArea: { show: true } },
          axisText(spec.x_label)),
        yAxis: merge({ type: 'category', data: spec.cohorts, splitArea: { show: true } },
          { name: spec.y_label, nameLocation: 'middle', nameGap: 64 }),
        visualMap: { min: 0, max: 100, calculable: false, orient: 'horizontal', left: 'center',
          bottom: 0, inRange: { color: ['#fbe9e9', '#2fb344'] } },
        series: [{ type: 'heatmap', data: cells, label: { show: spec.cohorts.length <= 18,
          formatter: function (p) { return Math.round(p.data.value[2]); } } }]
      };
    },

    histogram: function (spec) {
      return {
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' },
          valueFormatter: function (v) { return integer.format(v); } },
        grid: { left: 64, right: 16, top: 16, bottom: 72 },
        xAxis: merge({ type: 'category', data: spec.bins.map(function (b) { return b.label; }),
          axisLabel: { rotate: 45 } }, { name: spec.x_label, nameLocation: 'middle', nameGap: 56 }),
        yAxis: { type: 'value', name: spec.value_label },
        series: [{ type: 'bar', name: spec.value_label, barCategoryGap: '4%', itemStyle: { color: COLORS[0] },
          data: spec.bins.map(function (b) { return { value: b.customers, url: b.url }; }) }]
      };
    },

    quadrant_scatter: function (spec) {
      var biggest = 1;
      spec.quadrants.forEach(function (q) {
        q.points.forEach(function (p) { biggest = Math.max(biggest, p[2]); });
      });
      var series = spec.quadrants.map(function (q) {
        return {
          type: 'scatter', name: q.label, itemStyle: { color: QUADRANT_COLORS[q.key], opacity: 0.75 },
          symbolSize: function (v) { return 6 + 34 * Math.sqrt(v[2] / biggest); },
          data: q.points.map(function (p) {
            // A log axis cannot show zero: values under 1 are drawn at 1 (the tooltip is exact).
            return { value: [Math.max(p[0], 1), p[1], p[2], p[0]], url: q.url };
          })
        };
      });
      var lines = [{ yAxis: spec.loyalty_threshold }];
      if (spec.value_threshold) { lines.push({ xAxis: Math.max(spec.value_threshold, 1) }); }
      series[0].markLine = { silent: true, symbol: 'none', label: { show: false },
        lineStyle: { type: 'dashed', color: '#868e96' }, data: lines };
      return {
        tooltip: { trigger: 'item', formatter: function (p) {
          var v = p.data.value;
          return esc(p.seriesName) + '<br>' + esc(spec.size_label) + ': ' + integer.format(v[2]) +
            '<br>' + esc(spec.x_label) + ': ' + decimal.format(v[3]) + '<br>' + esc(spec.y_label) +
            ': ' + decimal.format(v[1]);
        } },
        legend: { top: 0 },
        grid: { left: 64, right: 24, top: 40, bottom: 56 },
        xAxis: merge({ type: 'log', logBase: 10 }, axisText(spec.x_label)),
        yAxis: merge({ type: 'value', min: 0, max: 1 }, { name: spec.y_label, nameLocation: 'middle', nameGap: 40 }),
        series: series
      };
    }
  };

  function draw(element) {
    if (element.getAttribute('data-chart-ready')) { return; }
    var source = document.getElementById(element.getAttribute('data-chart-source'));
    if (!source || !window.echarts) { return; }
    var spec = JSON.parse(source.textContent);
    var build = builders[spec.type];
    if (!build) { return; }
    var chart = window.echarts.init(element, null, { locale: locale, renderer: 'canvas' });
    chart.setOption(merge({ animation: false, color: COLORS }, build(spec)));
    chart.on('click', function (params) {
      var url = params.data && params.data.url;
      if (url) { window.location.assign(url); }
    });
    element.setAttribute('data-chart-ready', 'true');
  }

  function drawAll(root) {
    Array.prototype.forEach.call(root.querySelectorAll('[data-chart-source]'), draw);
  }

  function disposeAll(root) {
    Array.prototype.forEach.call(root.querySelectorAll('[data-chart-source]'), function (element) {
      var chart = window.echarts && window.echarts.getInstanceByDom(element);
      if (chart) { chart.dispose(); }
    });
  }

  function resizeAll() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-chart-ready]'), function (element) {
      var chart = window.echarts.getInstanceByDom(element);
      if (chart) { chart.resize(); }
    });
  }

  drawAll(document);
  document.addEventListener('htmx:beforeSwap', function (event) {
    if (event.detail.target) { disposeAll(event.detail.target); }
  });
  document.addEventListener('htmx:afterSettle', function (event) {
    drawAll(event.detail.elt || document);
  });
  var pending = null;
  window.addEventListener('resize', function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(resizeAll, 150);
  });
}());

// Charts: ECharts drawn as SVG (sharp, and its marks are elements a test or a screen reader can
// find), in the viewer's light or dark theme, resized with their box, disposed with the page.
import * as echarts from "echarts";
import { html } from "./ui.js";
import { useEffect, useRef } from "preact/hooks";

const dark = () => window.matchMedia("(prefers-color-scheme: dark)").matches;

// A tooltip is HTML to ECharts: what users named (features, steps) is escaped into it.
const safe = (text) => echarts.format.encodeHTML(text);

export function Chart({ option, height = 280, label }) {
  const box = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = echarts.init(box.current, dark() ? "dark" : null, { renderer: "svg" });
    const observer = new ResizeObserver(() => chart.current && chart.current.resize());
    observer.observe(box.current);
    return () => {
      observer.disconnect();
      chart.current.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    if (chart.current && option) {
      chart.current.setOption({ backgroundColor: "transparent", ...option }, true);
    }
  }, [option]);
  return html`<div class="chart" ref=${box} role="img" aria-label=${label} style=${`height:${height}px`}></div>`;
}

const zoom = [{ type: "inside" }, { type: "slider", height: 18, bottom: 4 }];

// Lines over steps, each with its min-max band where the server bucketed the history.
export function stepLines(series, { yName = "" } = {}) {
  const out = [];
  series.forEach(({ name, points }) => {
    out.push({
      name, type: "line", showSymbol: points.length < 60, sampling: "lttb",
      data: points.map((p) => [p.step, p.value]),
    });
    if (points.some((p) => p.min !== p.max)) {
      out.push({
        name: `${name} (min)`, type: "line", data: points.map((p) => [p.step, p.min]),
        lineStyle: { opacity: 0 }, symbol: "none", stack: `band-${name}`, silent: true,
      });
      out.push({
        name: `${name} (range)`, type: "line", data: points.map((p) => [p.step, p.max - p.min]),
        lineStyle: { opacity: 0 }, symbol: "none", stack: `band-${name}`, silent: true,
        areaStyle: { opacity: 0.18 },
      });
    }
  });
  return {
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", data: series.map((s) => s.name) },
    grid: { left: 56, right: 24, top: 36, bottom: 56 },
    xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 24, scale: true },
    yAxis: { type: "value", name: yName, scale: true },
    dataZoom: zoom,
    series: out,
  };
}

// A heat map: rows (features) by columns (windows), each cell's strength, 1 at the threshold.
export function heatmap(columns, rows, cells, { max = 2 } = {}) {
  return {
    tooltip: {
      formatter: (p) => safe(`${rows[p.value[1]]}, ${columns[p.value[0]]}: ${p.value[2] === null ? "n/a" : p.value[2].toFixed(2)} × threshold`),
    },
    grid: { left: 120, right: 110, top: 16, bottom: 70 },
    xAxis: { type: "category", data: columns, axisLabel: { rotate: 30 } },
    yAxis: { type: "category", data: rows },
    visualMap: {
      min: 0, max, calculable: true, orient: "vertical", right: 0, top: "middle",
      inRange: { color: ["#2166ac", "#f7f7f7", "#b2182b"] }, text: [`${max}× threshold`, "0"],
    },
    series: [{ type: "heatmap", data: cells, label: { show: false } }],
  };
}

// Category lines over windows, with alerts marked where they fired.
export function windowLines(windows, series, marks = []) {
  return {
    tooltip: { trigger: "axis" },
    legend: { type: "scroll" },
    grid: { left: 56, right: 24, top: 36, bottom: 40 },
    xAxis: { type: "category", data: windows },
    yAxis: { type: "value", scale: true },
    series: series.map((s, i) => ({
      type: "line", name: s.name, data: s.data, connectNulls: false, showSymbol: true,
      ...(i === 0 && marks.length
        ? { markLine: { symbol: "none", label: { formatter: "{b}" }, lineStyle: { color: "#d62728" },
            data: marks.map((m) => ({ name: m.name, xAxis: m.window })) } }
        : {}),
    })),
  };
}

// Bars of two distributions over the same bins.
export function bars(categories, series) {
  return {
    tooltip: { trigger: "axis" },
    legend: {},
    grid: { left: 56, right: 24, top: 36, bottom: 56 },
    xAxis: { type: "category", data: categories, axisLabel: { rotate: 30 } },
    yAxis: { type: "value", name: "share" },
    series: series.map((s) => ({ type: "bar", name: s.name, data: s.data })),
  };
}

// Parallel coordinates: one line per run across its params and a metric.
export function parallel(dimensions, rows) {
  return {
    tooltip: {},
    parallelAxis: dimensions.map((d, i) => ({
      dim: i, name: d.name, type: d.numeric ? "value" : "category",
      data: d.numeric ? undefined : d.categories, scale: true,
    })),
    parallel: { left: 60, right: 80, top: 40, bottom: 30 },
    animation: false, // few lines: drawn at once
    series: [{ type: "parallel", lineStyle: { width: 2, opacity: 0.7 }, data: rows }],
  };
}

// A pipeline's steps as a graph, left to right by depth; each step coloured by what happened
// (ran, reused from the cache, failed).
export function stepGraph(steps) {
  const depth = {};
  const place = (name, seen = new Set()) => {
    if (name in depth) return depth[name];
    if (seen.has(name)) return 0;
    seen.add(name);
    const ups = (steps.find((s) => s.name === name) || { upstream: [] }).upstream;
    depth[name] = ups.length ? 1 + Math.max(...ups.map((u) => place(u, seen))) : 0;
    return depth[name];
  };
  steps.forEach((s) => place(s.name));
  const rows = {};
  const colour = { ran: "#2f7d32", cached: "#6b7280", failed: "#c62828" };
  const nodes = steps.map((s) => {
    const column = depth[s.name];
    rows[column] = (rows[column] || 0) + 1;
    return {
      name: s.name, x: column * 180, y: rows[column] * 70, symbolSize: [120, 34], symbol: "roundRect",
      itemStyle: { color: colour[s.state] || colour.ran },
      label: { show: true, color: "#fff", formatter: s.state === "cached" ? `${s.name} (cached)` : s.name },
      value: s.state,
    };
  });
  const links = steps.flatMap((s) => s.upstream.map((u) => ({ source: u, target: s.name })));
  return {
    tooltip: { formatter: (p) => safe(p.dataType === "node" ? `${p.name}: ${p.value}` : `${p.data.source} → ${p.data.target}`) },
    series: [{
      type: "graph", layout: "none", roam: true, data: nodes, links,
      edgeSymbol: ["none", "arrow"], edgeSymbolSize: 9, lineStyle: { width: 2, opacity: 0.8 },
    }],
  };
}

// Chart.js (vendored, global `Chart`) set up for clinical trends: time on a linear axis in ms.

import { h, zoneName } from "./dom.js";
import { unitLabel } from "./labels.js";
import { glucoseInText, shown } from "./units.js";

const COLOURS = ["#0b5cad", "#b34700", "#1a7f37", "#6e40c9"];
// Axis and tooltip times in the patient's zone (the browser's when none is given).
const tickFormat = (zone) => new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", ...(zone ? { timeZone: zone } : {}),
});

// A canvas with a text alternative (charts are images to a screen reader).
export function chartBox(label) {
  const canvas = h("canvas", { role: "img", "aria-label": label });
  return { canvas, box: h("div", { class: "chart" }, canvas) };
}

// Trend series: mean line with the min-max band, care-plan limits as dashed lines, alerts as points.
export function trendChart(canvas, { series, start, end, limits = [], alerts = [], zone = null }) {
  const tickTime = tickFormat(zone);
  const datasets = [];
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const points = s.buckets.map((b) => ({ t: new Date(b.start).getTime(), b }));
    const dots = points.length < 60 ? 3 : 0; // sparse spot checks show as points, dense series as a line
    datasets.push(
      { label: `${s.label} max`, data: points.map(({ t, b }) => ({ x: t, y: b.max })), borderWidth: 0, pointRadius: 0, fill: false, backgroundColor: `${colour}22` },
      { label: `${s.label} min`, data: points.map(({ t, b }) => ({ x: t, y: b.min })), borderWidth: 0, pointRadius: 0, fill: "-1", backgroundColor: `${colour}22` },
      { label: s.label, data: points.map(({ t, b }) => ({ x: t, y: b.mean })), borderColor: colour, backgroundColor: colour, borderWidth: 1.5, pointRadius: dots },
    );
  });
  for (const limit of limits) {
    datasets.push({
      label: limit.label, data: [{ x: start, y: limit.value }, { x: end, y: limit.value }],
      borderColor: "#a4161a", borderDash: [6, 4], borderWidth: 1, pointRadius: 0,
    });
  }
  if (alerts.length) {
    datasets.push({
      label: "Alerts", type: "scatter", data: alerts, pointStyle: "triangle", pointRadius: 7,
      backgroundColor: "#a4161a", borderColor: "#a4161a",
    });
  }
  return new Chart(canvas, {
    type: "line",
    data: { datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: true,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: {
          type: "linear", min: start, max: end,
          ticks: { maxTicksLimit: 6, maxRotation: 0, autoSkip: true, callback: (v) => tickTime.format(new Date(v)) },
          title: { display: Boolean(zone), text: zone ? `time (${zoneName(zone)})` : "" },
        },
        y: { title: { display: true, text: unitLabel(series[0]?.unit ?? "") } },
      },
      plugins: {
        legend: { labels: { filter: (item) => !/ (max|min)$/.test(item.text) } },
        tooltip: { callbacks: {
          title: (items) => tickTime.format(new Date(items[0].parsed.x)),
          label: (item) => item.raw.summary ?? `${item.dataset.label}: ${Number(item.parsed.y).toFixed(1)}`,
        } },
      },
    },
  });
}

// Ambulatory glucose profile: median with the 25-75 and 5-95 percentile bands by hour of day, in the
// reader's glucose unit; hours are the patient's (the report is asked for in their zone).
export function agpChart(canvas, agp, { zone = null } = {}) {
  const [scale, unit] = shown(1, "mg/dL");
  const line = (p) => agp.map((hour) => ({ x: hour.hour, y: hour.percentiles[p] === undefined ? null : hour.percentiles[p] * scale }));
  const flat = (v) => [{ x: 0, y: v * scale }, { x: 23, y: v * scale }];
  const band = { borderWidth: 0, pointRadius: 0 };
  return new Chart(canvas, {
    type: "line",
    data: { datasets: [
      { label: "95th percentile", data: line(95), ...band, fill: false, backgroundColor: "#0b5cad1f" },
      { label: "5th-95th", data: line(5), ...band, fill: "-1", backgroundColor: "#0b5cad1f" },
      { label: "75th percentile", data: line(75), ...band, fill: false, backgroundColor: "#0b5cad4d" },
      { label: "25th-75th", data: line(25), ...band, fill: "-1", backgroundColor: "#0b5cad4d" },
      { label: "Median", data: line(50), borderColor: "#0b5cad", backgroundColor: "#0b5cad", pointRadius: 0, borderWidth: 2 },
      { label: "Target range", data: flat(70), borderColor: "#1a7f37", borderDash: [5, 4], pointRadius: 0, borderWidth: 1 },
      { label: "180", data: flat(180), borderColor: "#1a7f37", borderDash: [5, 4], pointRadius: 0, borderWidth: 1 },
    ] },
    options: {
      animation: false, maintainAspectRatio: false,
      scales: {
        // Every third hour, never rotated: Chart.js drops labels that would overlap instead.
        x: {
          type: "linear", min: 0, max: 23,
          ticks: { stepSize: 3, maxRotation: 0, autoSkip: true, callback: (v) => (v % 3 ? "" : `${String(v).padStart(2, "0")}h`) },
          title: { display: true, text: `hour of day${zone ? ` (${zoneName(zone)})` : ""}` },
        },
        y: { title: { display: true, text: unit }, suggestedMin: 40 * scale, suggestedMax: 300 * scale },
      },
      plugins: { legend: { labels: { boxWidth: 18, filter: (item) => !["95th percentile", "75th percentile", "180"].includes(item.text) } } },
    },
  });
}

// The consensus bands; their limits read in the user's glucose unit.
const BAND_DEFS = [
  ["very_high", "Very high >250 mg/dL", "#b34700"],
  ["high", "High 181-250 mg/dL", "#e8a33d"],
  ["in_range", "In range 70-180 mg/dL", "#1a7f37"],
  ["low", "Low 54-69 mg/dL", "#d1242f"],
  ["very_low", "Very low <54 mg/dL", "#82071e"],
];
export const glucoseBands = () => BAND_DEFS.map(([band, label, colour]) => [band, glucoseInText(label), colour]);

// Time in ranges as one stacked bar, as in the consensus report.
export function timeInRangeChart(canvas, ranges) {
  const share = Object.fromEntries(ranges.map((r) => [r.band, r.percent]));
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: ["Time in ranges"],
      datasets: glucoseBands().map(([band, label, colour]) => ({ label: `${label}: ${(share[band] ?? 0).toFixed(1)} %`, data: [share[band] ?? 0], backgroundColor: colour })),
    },
    options: {
      indexAxis: "y", animation: false, maintainAspectRatio: false,
      scales: { x: { stacked: true, max: 100, title: { display: true, text: "% of readings" } }, y: { stacked: true } },
    },
  });
}

export function rangeText(ranges) {
  const share = Object.fromEntries(ranges.map((r) => [r.band, r.percent]));
  return glucoseBands().map(([band, label]) => `${label}: ${(share[band] ?? 0).toFixed(1)} %`).join("; ");
}

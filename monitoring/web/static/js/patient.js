// Clinicians' views: the patient list, and one patient's trends, reports and alert history.

import { api } from "./api.js";
import { agpChart, chartBox, rangeText, timeInRangeChart, trendChart } from "./charts.js";
import { h, mount, num, severityBadge, toast, when, zoneName } from "./dom.js";
import { alertLabel, conditionLabel, kindLabel, unitLabel } from "./labels.js";
import { glucoseInText, glucoseText, glucoseUnit, shown, valueText } from "./units.js";

const RANGES = [["1", "24 hours"], ["7", "7 days"], ["30", "30 days"], ["90", "90 days"]];
// What is charted, in this order; blood pressure's two series share one chart.
const PANELS = [
  ["Blood pressure", ["bp_systolic", "bp_diastolic"]],
  ["Body weight", ["body_weight"]],
  ["CGM glucose", ["glucose_cgm"]],
  ["Meter glucose", ["glucose_meter"]],
  ["Heart rate", ["heart_rate"]],
  ["SpO2", ["spo2"]],
  ["Respiratory rate", ["respiratory_rate"]],
  ["Body temperature", ["body_temperature"]],
  ["Skin temperature", ["skin_temperature"]],
  ["Steps", ["steps"]],
];

export async function patientView(id) {
  const patient = await api(`/patients/${id}`);
  let days = "7";
  let charts = [];
  const body = h("div");
  const buttons = RANGES.map(([value, label]) => h("button", {
    type: "button", class: "quiet", "aria-pressed": value === days ? "true" : "false",
    onclick: () => { days = value; buttons.forEach((b, i) => b.setAttribute("aria-pressed", RANGES[i][0] === value ? "true" : "false")); draw(); },
  }, label));
  const zone = patient.time_zone;
  const fhir = h("button", { type: "button", class: "quiet", onclick: () => exportFhir(patient) }, "Export FHIR Observations");
  const print = h("button", { type: "button", class: "quiet", onclick: () => window.print() }, "Print this page");
  const pdf = h("button", { type: "button", class: "quiet", onclick: () => downloadReport(patient, days) }, "PDF report");
  mount(
    h("h1", {}, patient.display_name),
    h("dl", { class: "facts" },
      fact("MRN", patient.mrn),
      fact("Conditions", patient.conditions.map(conditionLabel).join(", ") || "–"),
      fact("Time zone", zoneName(zone) === zone ? zone : `${zone} (${zoneName(zone)})`),
      fact("Devices", patient.devices.map((d) => `${kindLabel(d.kind)} ${d.serial} (${d.online ? "online" : "offline"}${d.battery === null ? "" : `, battery ${num(d.battery)} %`})`).join("; ") || "none"),
    ),
    h("p", { class: "muted small" }, `Times on this page are the patient's local time (${zone}).`,
      h("span", { class: "print-only" }, ` Printed ${when(new Date().toISOString(), zone)}.`)),
    h("p", { class: "no-print toolbar" }, h("span", { id: "range-label" }, "Range: "), h("span", { class: "range", role: "group", "aria-labelledby": "range-label" }, buttons),
      " ", print, " ", pdf, " ", fhir,
      " ", h("a", { href: `/api/v1/fhir/Flag?patient=${id}`, onclick: (e) => { e.preventDefault(); exportFhir(patient, "Flag"); } }, "Export alerts as FHIR Flags")),
    body,
  );

  async function draw() {
    charts.forEach((c) => c.destroy());
    charts = [];
    const end = new Date();
    const start = new Date(end.getTime() - Number(days) * 86400e3);
    const params = { start: start.toISOString(), end: end.toISOString() };
    const keys = PANELS.flatMap(([, series]) => series);
    const [trends, alerts, glucose, vitals] = await Promise.all([
      Promise.all(keys.map((series) => api(`/patients/${id}/trend`, { params: { series, points: 400, ...params } }))),
      api("/alerts", { params: { patient_id: id, limit: 200 } }),
      api(`/patients/${id}/reports/glucose`, { params }),
      api(`/patients/${id}/reports/vitals`, { params }),
    ]);
    const bySeries = Object.fromEntries(keys.map((k, i) => [k, trends[i]]));
    const cards = [];
    for (const [title, series] of PANELS) {
      const data = series.map((k) => inUserUnit(bySeries[k])).filter((s) => s.buckets.length);
      if (!data.length) continue;
      const limits = series.flatMap((k) => patient.care_plan.filter((t) => t.series === k).flatMap((t) => [
        t.low === null ? null : limitLine(`${labelOf(bySeries[k])} low limit`, t.low, bySeries[k].unit),
        t.high === null ? null : limitLine(`${labelOf(bySeries[k])} high limit`, t.high, bySeries[k].unit),
      ]).filter(Boolean));
      if (series.some((k) => k.startsWith("glucose_"))) { // the consensus target range
        limits.push(limitLine("Target range low", 70, "mg/dL"), limitLine("Target range high", 180, "mg/dL"));
      }
      const marks = alertMarks(alerts.items, series, data[0], start, end);
      const latest = data.map((s) => `${s.label} latest mean ${num(s.buckets.at(-1).mean, 1)} ${unitLabel(s.unit)}`).join(", ");
      for (const mark of marks) mark.summary = glucoseInText(mark.summary);
      const { canvas, box } = chartBox(`${title} over ${days} day(s): ${latest}; ${marks.length} alert(s) marked.`);
      cards.push(h("section", { class: "card", "aria-label": title }, h("h3", {}, title), box));
      charts.push(() => trendChart(canvas, { series: data, start: start.getTime(), end: end.getTime(), limits, alerts: marks, zone }));
    }
    body.replaceChildren(
      glucoseSection(glucose, charts, zone),
      vitalsSection(vitals),
      h("h2", {}, "Trends"),
      cards.length ? h("div", { class: "cards" }, cards) : h("p", { class: "muted" }, "No readings in this range."),
      historySection(alerts.items, zone),
    );
    charts = charts.map((make) => make());
  }
  await draw();
}

function labelOf(series) {
  return series.label;
}

function fact(label, value) {
  return h("div", {}, h("dt", {}, label), h("dd", {}, value));
}

function alertMarks(alerts, series, trend, start, end) {
  const marks = [];
  for (const alert of alerts) {
    const about = alert.explanation?.series;
    const at = new Date(alert.episode_started_at).getTime();
    if (at < start.getTime() || at > end.getTime()) continue;
    if (!(series.includes(about) || series.some((k) => alert.alert_type.includes(k)))) continue;
    const near = trend.buckets.reduce((best, b) => Math.abs(new Date(b.start) - at) < Math.abs(new Date(best.start) - at) ? b : best);
    const worst = alert.explanation?.worst;
    const y = worst === undefined || worst === null ? near.mean : trend.unit === "mmol/L" ? shown(worst, "mg/dL")[0] : worst;
    marks.push({ x: at, y, summary: `${alert.severity}: ${alert.summary}` });
  }
  return marks;
}

function glucoseSection(report, charts, zone) {
  if (!report.series || !report.sufficiency.readings) return h("div");
  const agp = chartBox(`Ambulatory glucose profile by hour of day (${zone}), from ${report.sufficiency.readings} readings.`);
  const tir = chartBox(`Time in ranges. ${rangeText(report.time_in_ranges)}.`);
  // The AGP is a CGM's picture: a meter's few daily checks at set times leave most hours empty.
  const cgm = report.series === "glucose_cgm";
  charts.push(() => timeInRangeChart(tir.canvas, report.time_in_ranges));
  if (cgm) charts.push(() => agpChart(agp.canvas, report.agp, { zone }));
  return h("section", { "aria-label": "Glucose" },
    h("h2", {}, "Glucose"),
    h("dl", { class: "facts" },
      fact("Mean", valueText(report.mean, "mg/dL")),
      fact("GMI", `${num(report.gmi_percent, 1)} %`),
      fact("Variability (CV)", `${num(report.cv_percent, 1)} %`),
      fact("Data", `${report.sufficiency.days_with_data} days, ${num(report.sufficiency.percent_expected)} % of expected${report.sufficiency.sufficient ? "" : " (not enough for a consensus report)"}`),
    ),
    h("div", { class: "cards" },
      h("section", { class: "card" }, h("h3", {}, "Time in ranges"), tir.box),
      cgm ? h("section", { class: "card" }, h("h3", {}, "Ambulatory glucose profile"), agp.box)
        : h("p", { class: "muted" }, "From a glucose meter: the ambulatory glucose profile needs a continuous glucose monitor.")),
  );
}

function vitalsSection(report) {
  const bp = report.blood_pressure;
  const pair = (p) => (p ? `${num(p[0])}/${num(p[1])} mmHg` : "–");
  const change = (v) => (v === null ? "–" : `${v > 0 ? "+" : ""}${num(v, 1)} kg`);
  return h("section", { "aria-label": "Vitals summary" },
    h("h2", {}, "Vitals and adherence"),
    h("dl", { class: "facts" },
      fact("Home BP category", bp.home_category ?? "–"),
      fact("Morning mean", pair(bp.morning_mean)),
      fact("Evening mean", pair(bp.evening_mean)),
      fact("Weight", report.weight.latest === null ? "–" : `${num(report.weight.latest, 1)} kg`),
      fact("Weight change 3 d / 7 d", `${change(report.weight.change_3d)} / ${change(report.weight.change_7d)}`),
      fact("Heart rate mean", report.heart_rate.mean === null ? "–" : `${num(report.heart_rate.mean)} /min`),
      fact("SpO2 mean", report.spo2.mean === null ? "–" : `${num(report.spo2.mean, 1)} %`),
      fact("Days with readings (of 30)", `${report.adherence.days_with_readings}${report.adherence.meets_16_day_rule ? " (meets the 16-day rule)" : ""}`),
    ),
  );
}

function historySection(alerts, zone) {
  return h("section", { "aria-label": "Alert history" },
    h("h2", {}, "Alert history"),
    alerts.length === 0 ? h("p", { class: "muted" }, "No alerts.") : h("table", {},
      h("thead", {}, h("tr", {}, ["Opened", "Severity", "Type", "Why", "Status"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, alerts.map((a) => h("tr", {},
        h("td", {}, when(a.opened_at, zone)),
        h("td", {}, severityBadge(a.severity)),
        h("td", { title: a.alert_type }, alertLabel(a.alert_type)),
        h("td", {}, glucoseInText(a.summary)),
        h("td", {}, a.status + (a.dismissed_reason ? ` (${a.dismissed_reason})` : "")),
      )))),
  );
}

// A glucose series in the unit the user reads; any other series as it is.
function inUserUnit(trend) {
  if (trend.unit !== "mg/dL" || glucoseUnit() === "mg/dL") return trend;
  const [scale, unit] = shown(1, "mg/dL");
  return { ...trend, unit, buckets: trend.buckets.map((b) => ({ ...b, min: b.min * scale, mean: b.mean * scale, max: b.max * scale })) };
}

function limitLine(label, value, unit) {
  const [shownValue] = shown(value, unit);
  return { label: `${label} ${unit === "mg/dL" ? glucoseText(value) : `${value} ${unitLabel(unit)}`}`, value: shownValue };
}

// The two-page PDF the API renders (the range chosen here, in the patient's zone and the user's unit).
async function downloadReport(patient, days) {
  const end = new Date();
  const start = new Date(end.getTime() - Math.max(Number(days), 14) * 86400e3);
  try {
    const response = await api(`/patients/${patient.id}/reports/summary.pdf`, {
      params: { start: start.toISOString(), end: end.toISOString(), unit: glucoseUnit() }, raw: true,
    });
    const link = h("a", { href: URL.createObjectURL(await response.blob()), download: `report-${patient.mrn}.pdf` });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    toast(`The PDF report failed: ${error.message}`, { bad: true });
  }
}

async function exportFhir(patient, resource = "Observation") {
  try {
    const response = await api(`/fhir/${resource}`, { params: { patient: patient.id, _count: 1000 }, raw: true });
    const blob = await response.blob();
    const link = h("a", { href: URL.createObjectURL(blob), download: `${patient.mrn}-${resource}.fhir.json` });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    toast(`FHIR export failed: ${error.message}`, { bad: true });
  }
}

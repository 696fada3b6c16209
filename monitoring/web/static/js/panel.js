// The patient panel: every patient in reach, with what to look at first; searched, filtered,
// sorted and paged by the server (GET /panel), so it stays quick with thousands of patients.

import { api, auth, team } from "./api.js";
import { glucoseBands } from "./charts.js";
import { age, h, mount, num } from "./dom.js";
import { conditionLabel, kindLabel, seriesLabel, unitLabel } from "./labels.js";
import { digitsFor, glucoseInText, glucoseText, shown, valueText } from "./units.js";

const PAGE = 50;
const CONDITIONS = ["hypertension", "type1_diabetes", "type2_diabetes", "heart_failure", "copd", "atrial_fibrillation"];
const FLAGS = [["", "Any or none"], ["any", "Any flag"], ["none", "No flag"], ["low_glucose", "Time below range"],
  ["time_in_range_drop", "Time in range falling"], ["adherence", "Too few days with readings"], ["device_offline", "Device silent"]];
const ALERTS = [["", "Any or none"], ["any", "Some open alert"], ["high", "High or critical"], ["critical", "Critical"], ["none", "No open alert"]];
const SORTS = [["risk", "Risk (highest first)"], ["last_reading", "Last reading (longest silent first)"],
  ["time_in_range", "Time in range (lowest first)"], ["adherence", "Days with readings (fewest first)"], ["name", "Name"]];

// What the user chose stays while they move between pages of the dashboard.
const state = { q: "", condition: "", flag: "", alerts: "", sort: "risk", reverse: false, care_team_id: "", offset: 0 };
let latestRequest = 0;

function select(id, label, options, key) {
  const el = h("select", { id, name: key }, options.map(([value, text]) => h("option", { value, selected: state[key] === value }, text)));
  el.addEventListener("change", () => { state[key] = el.value; state.offset = 0; refresh(); });
  return [h("label", { for: id }, label), el];
}

let refresh = () => {};

export async function panelView() {
  const teams = auth.me.role === "admin" ? await api("/teams") : await Promise.all(auth.me.team_ids.map((id) => team(id)));
  const search = h("input", { id: "panel-q", type: "search", value: state.q, autocomplete: "off", placeholder: "Name or MRN" });
  let typing = null;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.q = search.value.trim(); state.offset = 0; refresh(); }, 250);
  });
  const reverse = h("input", { id: "panel-reverse", type: "checkbox", checked: state.reverse });
  reverse.addEventListener("change", () => { state.reverse = reverse.checked; state.offset = 0; refresh(); });
  const summary = h("p", { id: "panel-count", class: "muted", role: "status" });
  const body = h("div", { id: "panel-body" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  // On a phone the filters fold away behind one line; on a desktop they are open.
  const more = h("details", { class: "more", open: window.matchMedia("(min-width: 641px)").matches },
    h("summary", {}, "Filters and order"),
    h("div", { class: "filters" },
      teams.length > 1 ? h("div", {}, ...select("panel-team", "Care team", [["", "All my teams"], ...teams.map((t) => [t.id, t.name])], "care_team_id")) : null,
      h("div", {}, ...select("panel-condition", "Condition", [["", "Any"], ...CONDITIONS.map((c) => [c, conditionLabel(c)])], "condition")),
      h("div", {}, ...select("panel-flag", "Triage flag", FLAGS, "flag")),
      h("div", {}, ...select("panel-alerts", "Open alerts", ALERTS, "alerts")),
      h("div", {}, ...select("panel-sort", "Sort by", SORTS, "sort")),
      h("div", { class: "check" }, reverse, h("label", { for: "panel-reverse" }, "Reverse order"))));
  mount(
    h("h1", {}, "Patients"),
    h("form", { class: "filters", role: "search", "aria-label": "Find patients", onsubmit: (e) => e.preventDefault() },
      h("div", {}, h("label", { for: "panel-q" }, "Search"), search), more),
    summary, body, pager,
  );

  refresh = async () => {
    const mine = ++latestRequest;
    const params = { ...state, reverse: state.reverse ? "true" : "", limit: PAGE };
    const page = await api("/panel", { params });
    if (mine !== latestRequest) return; // a newer choice was made while this one loaded
    const first = page.total ? page.offset + 1 : 0;
    summary.textContent = `${first}–${page.offset + page.items.length} of ${page.total} patients`;
    body.replaceChildren(page.items.length ? table(page.items) : h("p", {}, "No patient matches."));
    pager.replaceChildren(
      h("button", { type: "button", class: "quiet", disabled: page.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); } }, "Previous page"),
      h("span", { class: "muted" }, ` Page ${Math.floor(page.offset / PAGE) + 1} of ${Math.max(1, Math.ceil(page.total / PAGE))} `),
      h("button", { type: "button", class: "quiet", disabled: page.offset + PAGE >= page.total, onclick: () => { state.offset += PAGE; refresh(); } }, "Next page"),
    );
  };
  await refresh();
}

function table(rows) {
  return h("table", { class: "panel" },
    h("thead", {}, h("tr", {}, ["Patient", "Open alerts", "Latest readings", "Last 7 days", "Time in ranges (14 days)", "Days with readings", "Flags"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((row) => h("tr", { "data-patient": row.patient_id },
      h("td", {}, h("a", { href: `#/patients/${row.patient_id}` }, row.display_name),
        h("div", { class: "muted small" }, `MRN ${row.mrn}`),
        h("div", { class: "muted small" }, row.conditions.map(conditionLabel).join(", "))),
      h("td", {}, openAlerts(row.open_alerts)),
      h("td", {}, devices(row.devices)),
      h("td", {}, row.spark ? sparkline(row.spark) : h("span", { class: "muted" }, "–")),
      h("td", {}, row.time_in_range === null ? h("span", { class: "muted" }, "No CGM") : tirBar(row)),
      h("td", {}, `${row.adherence_days} of ${row.monitored_days}`),
      h("td", {}, row.flags.length ? h("ul", { class: "flags" }, row.flags.map((f) => h("li", {}, glucoseInText(f)))) : "–"),
    ))));
}

function openAlerts(counts) {
  const order = ["critical", "high", "medium", "low"].filter((s) => counts[s]);
  if (!order.length) return h("span", { class: "muted" }, "none");
  return h("span", { class: "badges" }, order.map((s) => h("span", { class: `sev sev-${s}` }, `${counts[s]} ${s}`)));
}

function devices(list) {
  if (!list.length) return h("span", { class: "muted" }, "no device");
  return h("ul", { class: "latest" }, list.map((d) => {
    const values = d.latest.filter((r) => r.series !== "bp_diastolic");
    const dia = d.latest.find((r) => r.series === "bp_diastolic");
    const text = values.map((r) => r.series === "bp_systolic" && dia
      ? `${num(r.value)}/${num(dia.value)} mmHg` : `${seriesLabel(r.series)} ${valueText(r.value, r.unit, r.unit === "Cel" || r.unit === "kg" ? 1 : 0)}`).join(", ");
    const newest = d.latest.reduce((a, r) => (!a || r.measured_at > a ? r.measured_at : a), null);
    return h("li", {},
      h("span", { class: "kind" }, kindLabel(d.kind)), ": ",
      text || h("span", { class: "muted" }, "no reading in 30 days"),
      newest ? h("span", { class: "muted" }, ` · ${age(newest)} ago`) : null,
      d.quiet ? h("span", { class: "tag bad" }, "silent") : null);
  }));
}

function sparkline(spark) {
  const [w, hgt] = [140, 32];
  const values = spark.values.map((v) => (v === null ? null : shown(v, spark.unit)[0]));
  const known = values.filter((v) => v !== null);
  if (!known.length) return h("span", { class: "muted" }, "no readings");
  const [lo, hi] = [Math.min(...known), Math.max(...known)];
  const y = (v) => (hi === lo ? hgt / 2 : hgt - 3 - ((v - lo) / (hi - lo)) * (hgt - 6));
  const x = (i) => (i / (values.length - 1)) * (w - 4) + 2;
  // One path, broken where a slot had no readings.
  let d = "";
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  const unit = unitLabel(shown(1, spark.unit)[1]);
  const digits = digitsFor(unit, spark.unit === "kg" ? 1 : 0);
  const last = known.at(-1);
  const said = `${seriesLabel(spark.series)}, last 7 days: low ${lo.toFixed(digits)}, high ${hi.toFixed(digits)}, latest ${last.toFixed(digits)} ${unit}`;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("width", w);
  svg.setAttribute("height", hgt);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", said);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "#1f5fa8");
  path.setAttribute("stroke-width", "1.6");
  svg.append(path);
  values.forEach((v, i) => { // a slot with no neighbour is a dot, not an invisible line
    if (v === null || values[i - 1] != null || values[i + 1] != null) return;
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", x(i).toFixed(1));
    dot.setAttribute("cy", y(v).toFixed(1));
    dot.setAttribute("r", "2");
    dot.setAttribute("fill", "#1f5fa8");
    svg.append(dot);
  });
  return h("div", { class: "spark" }, svg,
    h("div", { class: "muted small" }, `${seriesLabel(spark.series)} ${lo === hi ? lo.toFixed(digits) : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`} ${unit}`));
}

function tirBar(row) {
  const veryLow = row.time_below_54 ?? 0;
  const low = Math.max(0, (row.time_below_70 ?? 0) - veryLow);
  const veryHigh = row.time_above_250 ?? 0;
  const high = Math.max(0, 100 - row.time_in_range - veryLow - low - veryHigh);
  const shares = [veryLow, low, row.time_in_range, high, veryHigh];
  const bands = glucoseBands().reverse(); // lowest first, as the shares are
  const said = bands.map(([, label], i) => `${label}: ${num(shares[i])} %`).join("; ");
  return h("div", { class: "tir" },
    h("div", { class: "tir-bar", role: "img", "aria-label": `Time in ranges: ${said}` },
      bands.map(([key, label, colour], i) => (shares[i] > 0 ? segment(key, label, colour, shares[i]) : null))),
    h("div", { class: "small" }, `${num(row.time_in_range)} % in range`,
      h("span", { class: "muted" }, ` · ${num(row.time_below_70)} % below ${glucoseText(70)}`)));
}

// Sized through the CSS object model: the page's content security policy refuses style attributes.
function segment(key, label, colour, share) {
  const span = h("span", { class: `tir-${key}`, title: `${label}: ${num(share, 1)} %` });
  span.style.width = `${share}%`;
  span.style.background = colour;
  return span;
}

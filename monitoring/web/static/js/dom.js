// Building the page from data without ever parsing data as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function mount(...children) {
  const view = document.getElementById("view");
  view.replaceChildren(...children);
  watchTables(view);
  return view;
}

// On a phone a table is shown as one card per row (app.css): each cell carries its column's
// heading so that the card still says what each value is. Kept up to date as rows change.
function labelCells(root) {
  for (const table of root.querySelectorAll("table")) {
    const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
    if (!headings.length) continue;
    table.classList.add("stack");
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        if (cell.colSpan === 1 && headings[i] && cell.dataset.label !== headings[i]) cell.dataset.label = headings[i];
      });
    }
  }
}

let watcher = null;
function watchTables(view) {
  labelCells(view);
  if (watcher) return;
  watcher = new MutationObserver(() => labelCells(view));
  watcher.observe(view, { childList: true, subtree: true });
}

export function toast(message, { bad = false } = {}) {
  const line = h("p", { class: bad ? "bad" : "" }, message);
  document.getElementById("toast").append(line);
  setTimeout(() => line.remove(), bad ? 8000 : 4000);
}

// Times in a patient's zone say which zone ("3 Dec 2026, 17:05 GMT+9"); without one, the browser's.
const formats = new Map();
function formatIn(zone) {
  if (!formats.has(zone)) {
    formats.set(zone, new Intl.DateTimeFormat(undefined, zone
      ? { dateStyle: "medium", timeStyle: "short", timeZone: zone }
      : { dateStyle: "medium", timeStyle: "short" }));
  }
  return formats.get(zone);
}

export function when(iso, zone = null) {
  if (!iso) return "";
  const text = formatIn(zone).format(new Date(iso));
  return zone ? `${text} ${zoneName(zone)}` : text;
}

// "Asia/Tokyo" as people read it beside a time: the zone's short name, else its IANA name.
export function zoneName(zone) {
  if (zone === "UTC") return "UTC";
  const part = new Intl.DateTimeFormat(undefined, { timeZone: zone, timeZoneName: "short" })
    .formatToParts(new Date()).find((p) => p.type === "timeZoneName");
  return part && !/^GMT[+-]/.test(part.value) ? part.value : zone;
}

export function age(iso, now = Date.now()) {
  const minutes = Math.max(0, Math.round((now - new Date(iso).getTime()) / 60000));
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  return `${Math.floor(minutes / 1440)} d`;
}

export function severityBadge(severity) {
  return h("span", { class: `sev sev-${severity}` }, severity);
}

export function num(value, digits = 0) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

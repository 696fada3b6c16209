// The alert queue: most urgent first, kept current by the API's live stream, worked in place.

import { api, auth, authenticateMessage, onTokenRenewed, patientIndex, streamUrl, team } from "./api.js";
import { age, h, mount, severityBadge, toast, when } from "./dom.js";
import { alertLabel } from "./labels.js";
import { announce, askForNotifications, notificationsAllowed, setCount, setSound, soundOn } from "./notify.js";

const RANK = { critical: 4, high: 3, medium: 2, low: 1 };
const DONE = {
  acknowledge: "Alert acknowledged", resolve: "Alert resolved", dismiss: "Alert dismissed as false",
  assign: "Alert assigned", snooze: "Alert snoozed", comments: "Comment added",
};
const SNOOZES = [["1", "1 hour"], ["4", "4 hours"], ["24", "1 day"]];

// Which alerts the queue shows: every one, the caller's, or those nobody has taken yet.
const SHOW = [["", "All alerts"], ["me", "Assigned to me"], ["nobody", "Unassigned"]];
let show = "";

function inQueue(alert, now = Date.now()) {
  const active = alert.status === "open" || alert.status === "acknowledged";
  const wanted = show === "" || (show === "me" ? alert.assigned_to === auth.me?.id : !alert.assigned_to);
  return active && wanted && !(alert.snoozed_until && new Date(alert.snoozed_until).getTime() > now);
}

const loadQueue = () => api("/alerts", { params: { queue: true, limit: 500, ...(show ? { assigned: show } : {}) } });

function order(a, b) {
  return RANK[b.severity] - RANK[a.severity] || new Date(a.opened_at) - new Date(b.opened_at);
}

export async function queueView() {
  const alerts = new Map();
  const expanded = new Set();
  const panels = new Map();
  const patients = await patientIndex();
  const first = await loadQueue();
  for (const alert of first.items) alerts.set(alert.id, alert);

  const live = h("span", { class: "status-down", id: "live-status" }, "Connecting…");
  const count = h("span", { class: "muted" });
  const tbody = h("tbody");
  const empty = h("p", { class: "muted" }, "No alerts need attention.");
  const table = h(
    "table",
    { "aria-describedby": "queue-caption" },
    h("caption", { id: "queue-caption", class: "muted" }, "Open and acknowledged alerts, most severe first, then oldest first."),
    h("thead", {}, h("tr", {},
      ["Severity", "Patient", "Why", "Open for", "Status", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
    tbody,
  );
  const sound = h("button", {
    type: "button", class: "quiet", "aria-pressed": String(soundOn()),
    onclick: () => { setSound(!soundOn()); sound.setAttribute("aria-pressed", String(soundOn())); },
  }, "Sound for high and critical alerts");
  const desktop = h("button", {
    type: "button", class: "quiet", hidden: notificationsAllowed() || !("Notification" in window),
    onclick: async () => {
      const answer = await askForNotifications();
      desktop.hidden = answer === "granted";
      toast(answer === "granted" ? "Desktop notifications on" : "Desktop notifications not allowed by the browser");
    },
  }, "Turn on desktop notifications");
  const filter = h("select", {
    id: "queue-show",
    onchange: async () => {
      show = filter.value;
      const page = await loadQueue();
      alerts.clear();
      for (const alert of page.items) alerts.set(alert.id, alert);
      render();
    },
  }, SHOW.map(([value, text]) => h("option", { value, selected: value === show }, text)));
  mount(h("h1", {}, "Alert queue ", count), h("p", { class: "controls" }, "Stream: ", live, " ", sound, " ", desktop),
    h("p", {}, h("label", { for: "queue-show" }, "Show"), filter), empty, table);

  async function act(alert, action, body) {
    try {
      const changed = await api(`/alerts/${alert.id}/${action}`, { method: "POST", body });
      update(changed);
      toast(`${DONE[action]}: ${patients.get(alert.patient_id)?.display_name ?? ""}`);
    } catch (error) {
      toast(`Could not ${action}: ${error.message}`, { bad: true });
    }
  }

  async function workPanel(id) {
    const alert = alerts.get(id);
    const current = () => alerts.get(id) ?? alert;
    const patient = patients.get(alert.patient_id);
    const members = patient?.care_team_id ? (await team(patient.care_team_id)).members : [];
    const tag = id.slice(0, 8);
    const assignee = h("select", { id: `assign-${tag}` },
      members.map((m) => h("option", { value: m.id, selected: m.id === alert.assigned_to }, `${m.display_name} (${m.role})`)));
    const snooze = h("select", { id: `snooze-${tag}` }, SNOOZES.map(([v, t]) => h("option", { value: v }, t)));
    const comment = h("input", { id: `comment-${tag}`, maxlength: 2000, required: true });
    const reason = h("input", { id: `reason-${tag}`, minlength: 3, maxlength: 500, required: true });
    const form = (label, control, button, submit) => h("form", { onsubmit: (e) => { e.preventDefault(); submit(); } },
      h("span", {}, h("label", { for: control.id }, label), control), h("button", { type: "submit" }, button));
    return h("td", { colspan: 6 },
      h("p", {}, h("a", { href: `#/patients/${alert.patient_id}` }, "Open the patient's charts"),
        ` · detector ${alert.detector} · episode began ${when(alert.episode_started_at)} · ${alert.occurrences} occurrence(s)`),
      form("Assign to", assignee, "Assign", () => act(current(), "assign", { user_id: assignee.value })),
      form("Snooze for", snooze, "Snooze", () => act(current(), "snooze", {
        until: new Date(Date.now() + Number(snooze.value) * 3600e3).toISOString(),
      })),
      form("Comment", comment, "Add comment", async () => {
        await act(current(), "comments", { text: comment.value });
        comment.value = "";
      }),
      form("Reason it is false", reason, "Dismiss as false", () => act(current(), "dismiss", { reason: reason.value })),
    );
  }

  function rowsFor(alert) {
    const patient = patients.get(alert.patient_id);
    const assigned = alert.assigned_to ? " · assigned" : "";
    const toggle = h("button", {
      type: "button", class: "quiet", "aria-expanded": expanded.has(alert.id) ? "true" : "false",
      onclick: () => {
        if (expanded.has(alert.id)) expanded.delete(alert.id);
        else expanded.add(alert.id);
        render(alert.id);
      },
    }, "Work…");
    const main = h("tr", { "data-alert-id": alert.id },
      h("td", {}, severityBadge(alert.severity),
        alert.escalation_level ? h("div", { class: "muted" }, `escalated ×${alert.escalation_level}`) : null),
      h("td", {}, h("a", { href: `#/patients/${alert.patient_id}` }, patient?.display_name ?? alert.patient_id.slice(0, 8)),
        h("div", { class: "muted", title: alert.alert_type }, alertLabel(alert.alert_type))),
      h("td", { class: "summary" }, alert.summary),
      h("td", { title: when(alert.opened_at), "data-opened": alert.opened_at }, age(alert.opened_at)),
      h("td", { class: "status" }, alert.status + assigned),
      h("td", {}, h("div", { class: "actions" },
        alert.status === "open" ? h("button", { type: "button", onclick: () => act(alert, "acknowledge", {}) }, "Acknowledge") : null,
        h("button", { type: "button", class: "quiet", onclick: () => act(alert, "resolve", {}) }, "Resolve"),
        toggle)),
    );
    const rows = [main];
    if (expanded.has(alert.id)) {
      let panel = panels.get(alert.id);
      if (!panel) { // built once while open: a change by someone else must not wipe what is being typed
        panel = h("tr", { class: "work" });
        const row = panel;
        workPanel(alert.id).then((cell) => row.append(cell));
        panels.set(alert.id, panel);
      }
      rows.push(panel);
    } else {
      panels.delete(alert.id);
    }
    return rows;
  }

  function render(fresh) {
    const now = Date.now();
    const shown = [...alerts.values()].filter((a) => inQueue(a, now)).sort(order);
    tbody.replaceChildren(...shown.flatMap((alert) => {
      const rows = rowsFor(alert);
      if (alert.id === fresh) rows[0].classList.add("fresh");
      return rows;
    }));
    count.textContent = `(${shown.length})`;
    setCount(shown.length);
    empty.hidden = shown.length > 0;
    table.hidden = shown.length === 0;
  }

  function update(alert) {
    if (!patients.has(alert.patient_id)) patientIndex({ fresh: true }).then((p) => { for (const [k, v] of p) patients.set(k, v); render(); });
    announce(alert, alerts.get(alert.id), patients.get(alert.patient_id)?.display_name ?? "a patient");
    alerts.set(alert.id, alert);
    if (!inQueue(alert)) {
      expanded.delete(alert.id);
      panels.delete(alert.id);
    }
    render(alert.id);
  }

  // The live stream: reconnect with back-off; on reconnect reload, in case a change was missed.
  let socket = null;
  let closed = false;
  let delay = 1000;
  function connect() {
    socket = new WebSocket(streamUrl());
    socket.onopen = () => socket.send(authenticateMessage());
    socket.onmessage = async (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "alert") return update(data.alert);
      if (data.type !== "ready") return;
      live.textContent = "Live";
      live.className = "status-live";
      if (delay > 1000) {
        const page = await loadQueue();
        alerts.clear();
        for (const alert of page.items) alerts.set(alert.id, alert);
        render();
      }
      delay = 1000;
    };
    socket.onclose = () => {
      if (closed) return;
      live.textContent = "Reconnecting…";
      live.className = "status-down";
      if (!auth.token) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  render();
  connect();
  const stopRenewing = onTokenRenewed(() => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(authenticateMessage());
  });
  const ticker = setInterval(() => { // ages go on, and snoozes run out
    const now = Date.now();
    const due = [...alerts.values()].filter((a) => inQueue(a, now)).length;
    if (due !== tbody.querySelectorAll("tr[data-alert-id]").length) return render();
    for (const cell of tbody.querySelectorAll("td[data-opened]")) cell.textContent = age(cell.dataset.opened, now);
  }, 60000);
  return () => {
    closed = true;
    setCount(0);
    stopRenewing();
    clearInterval(ticker);
    socket?.close();
  };
}

// The alert queue: most urgent first, paged and filtered by the server, kept current by the live
// stream, worked one at a time or many at once.

import { api, auth, authenticateMessage, onTokenRenewed, streamUrl, team } from "./api.js";
import { age, h, mount, severityBadge, toast, when } from "./dom.js";
import { alertLabel } from "./labels.js";
import { announce, askForNotifications, notificationsAllowed, setCount, setSound, soundOn } from "./notify.js";
import { glucoseInText } from "./units.js";

const PAGE = 50;
const DONE = {
  acknowledge: "Alert acknowledged", resolve: "Alert resolved", dismiss: "Alert dismissed as false",
  assign: "Alert assigned", snooze: "Alert snoozed", comments: "Comment added",
};
const SNOOZES = [["1", "1 hour"], ["4", "4 hours"], ["24", "1 day"]];
const SEVERITIES = ["critical", "high", "medium", "low"];
// Which alerts the queue shows: every one, the caller's, or those nobody has taken yet.
const SHOW = [["", "All alerts"], ["me", "Assigned to me"], ["nobody", "Unassigned"]];
// What the user chose stays while they move between pages of the dashboard.
const state = { assigned: "", severity: "", alert_type: "", offset: 0 };

const EVENT_WORDS = {
  opened: "Opened", repeated: "Happened again", updated: "Updated", cleared: "Readings back to normal",
  resolved: "Resolved", escalated: "Escalated", acknowledge: "Acknowledged", resolve: "Resolved",
  dismiss: "Dismissed as false", assign: "Assigned", snooze: "Snoozed", comment: "Comment",
};

async function careTeamMembers() {
  const teams = await Promise.all((auth.me.team_ids || []).map((id) => team(id)));
  const members = new Map();
  for (const t of teams) for (const m of t.members) members.set(m.id, m);
  return [...members.values()].sort((a, b) => a.display_name.localeCompare(b.display_name));
}

// Who holds each of the user's teams' on-call, with the control to take it or hand it back.
function onCallLine(teamId) {
  const line = h("p", { class: "on-call" });
  async function draw(detail) {
    const holder = detail.on_call;
    const mine = holder?.user_id === auth.me.id;
    const said = holder ? `${mine ? "you" : holder.display_name}${holder.since ? ` since ${when(holder.since)}` : ""}` : "nobody";
    const change = async (method) => {
      try {
        draw(await api(`/teams/${teamId}/on-call`, { method }));
        toast(method === "POST" ? `You hold the on-call of ${detail.name}: its escalations come to you.` : `On-call of ${detail.name} handed back.`);
      } catch (error) {
        toast(`The on-call did not change: ${error.message}`, { bad: true });
      }
    };
    line.replaceChildren(`On call for ${detail.name}: `, h("strong", {}, said), " ",
      mine ? h("button", { type: "button", class: "quiet", onclick: () => change("DELETE") }, "Hand back the on-call")
        : h("button", { type: "button", class: "quiet", onclick: () => change("POST") }, `Take the on-call of ${detail.name}`));
  }
  api(`/teams/${teamId}`).then(draw);
  return line;
}

export async function queueView() {
  const alerts = new Map(); // the page shown, by id, in the server's order
  const selected = new Set();
  const expanded = new Set();
  const panels = new Map();
  const members = await careTeamMembers();
  let total = 0;
  let latestLoad = 0;
  let loadedAt = Date.now();

  const live = h("span", { class: "status-down", id: "live-status" }, "Connecting…");
  const count = h("span", { class: "muted" });
  const tbody = h("tbody");
  const empty = h("p", { class: "muted" }, "No alerts need attention.");
  const all = h("input", { type: "checkbox", id: "select-page", "aria-label": "Select every alert on this page" });
  all.addEventListener("change", () => {
    for (const id of alerts.keys()) (all.checked ? selected.add(id) : selected.delete(id));
    render();
  });
  const table = h(
    "table",
    { "aria-describedby": "queue-caption", class: "queue" },
    h("caption", { id: "queue-caption", class: "muted" }, "Open and acknowledged alerts, most severe first, then oldest first."),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "pick" }, all),
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

  const choose = (key) => (event) => { state[key] = event.target.value; state.offset = 0; selected.clear(); load(); };
  const show = h("select", { id: "queue-show", onchange: choose("assigned") },
    SHOW.map(([value, text]) => h("option", { value, selected: value === state.assigned }, text)));
  const severity = h("select", { id: "queue-severity", onchange: choose("severity") });
  const kind = h("select", { id: "queue-type", onchange: choose("alert_type") });

  const bulkCount = h("span", { id: "bulk-count" });
  const bulkAssignee = h("select", { id: "bulk-assignee" },
    members.map((m) => h("option", { value: m.id, selected: m.id === auth.me.id }, `${m.display_name} (${m.role})`)));
  const bulkBar = h("div", { class: "bulk", role: "region", "aria-label": "Work the selected alerts", hidden: true },
    bulkCount,
    h("button", { type: "button", onclick: () => bulk("acknowledge") }, "Acknowledge selected"),
    h("button", { type: "button", class: "quiet", onclick: () => bulk("resolve") }, "Resolve selected"),
    h("span", {}, h("label", { for: "bulk-assignee" }, "Assign selected to"), bulkAssignee,
      h("button", { type: "button", class: "quiet", onclick: () => bulk("assign", { user_id: bulkAssignee.value }) }, "Assign")),
  );
  const pager = h("nav", { class: "pager", "aria-label": "Pages of the queue" });

  mount(h("h1", {}, "Alert queue ", count), h("p", { class: "controls" }, "Stream: ", live, " ", sound, " ", desktop),
    ...(auth.me.team_ids || []).map(onCallLine),
    h("div", { class: "filters" },
      h("div", {}, h("label", { for: "queue-show" }, "Show"), show),
      h("div", {}, h("label", { for: "queue-severity" }, "Severity"), severity),
      h("div", {}, h("label", { for: "queue-type" }, "Type"), kind)),
    bulkBar, empty, table, pager);

  async function load() {
    const mine = ++latestLoad;
    const params = { queue: true, limit: PAGE, offset: state.offset, assigned: state.assigned, severity: state.severity, alert_type: state.alert_type };
    const [page, facets] = await Promise.all([api("/alerts", { params }), api("/alerts/facets", { params: { assigned: state.assigned } })]);
    if (mine !== latestLoad) return; // a newer choice or change is loading
    if (!page.items.length && state.offset > 0) { // the last page emptied: step back
      state.offset = Math.max(0, state.offset - PAGE);
      return load();
    }
    total = page.total;
    loadedAt = Date.now();
    alerts.clear();
    for (const alert of page.items) alerts.set(alert.id, alert);
    for (const id of [...selected]) if (!alerts.has(id)) selected.delete(id);
    severity.replaceChildren(h("option", { value: "" }, `Any (${facets.total})`),
      ...SEVERITIES.filter((s) => facets.severity[s] || s === state.severity)
        .map((s) => h("option", { value: s, selected: s === state.severity }, `${s} (${facets.severity[s] ?? 0})`)));
    const types = Object.entries(facets.alert_type).sort((a, b) => b[1] - a[1]);
    if (state.alert_type && !facets.alert_type[state.alert_type]) types.push([state.alert_type, 0]);
    kind.replaceChildren(h("option", { value: "" }, "Any"),
      ...types.map(([t, n]) => h("option", { value: t, selected: t === state.alert_type }, `${alertLabel(t)} (${n})`)));
    setCount(facets.total);
    render();
  }

  // Changes arrive one by one on the stream; the page is fetched again after a quiet moment so the
  // server's order, filters and paging stay the truth.
  let reloadTimer = null;
  function reloadSoon() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, 300);
  }

  async function act(alert, action, body) {
    try {
      const changed = await api(`/alerts/${alert.id}/${action}`, { method: "POST", body });
      alerts.set(changed.id, changed);
      toast(`${DONE[action]}: ${changed.patient_name ?? ""}`);
      panels.get(changed.id)?.refreshHistory?.(changed);
      render(changed.id);
      reloadSoon();
    } catch (error) {
      toast(`Could not ${action}: ${error.message}`, { bad: true });
    }
  }

  async function bulk(action, extra = {}) {
    const ids = [...selected];
    if (!ids.length) return;
    try {
      const answer = await api("/alerts/bulk", { method: "POST", body: { alert_ids: ids, action, ...extra } });
      const failed = answer.results.filter((r) => !r.ok);
      const verb = { acknowledge: "Acknowledged", resolve: "Resolved", assign: "Assigned" }[action];
      toast(`${verb} ${answer.done} alert(s)` + (failed.length ? `; ${failed.length} not: ${failed[0].error.message}` : ""), { bad: failed.length > 0 });
      selected.clear();
      await load();
    } catch (error) {
      toast(`Could not ${action} the selected alerts: ${error.message}`, { bad: true });
    }
  }

  function historyList(detail) {
    if (!detail.events.length) return h("p", { class: "muted" }, "Nothing done yet: not acknowledged, assigned or commented on.");
    return h("ol", { class: "history", "aria-label": "History" }, detail.events.map((e) => {
      const said = e.detail?.note || e.detail?.reason || "";
      const extra = e.kind === "escalated" ? ` to ${e.detail.to_severity} (level ${e.detail.level})`
        : e.kind === "assign" ? ` to ${members.find((m) => m.id === e.detail.assignee)?.display_name ?? "a team member"}`
          : e.kind === "snooze" ? ` until ${when(e.detail.until)}` : "";
      return h("li", {}, h("span", { class: "muted" }, when(e.at)), " ", h("strong", {}, EVENT_WORDS[e.kind] ?? e.kind), extra,
        e.actor ? ` by ${e.actor}` : "", said ? h("q", {}, said) : null);
    }));
  }

  async function workPanel(id, row) {
    const alert = alerts.get(id);
    const current = () => alerts.get(id) ?? alert;
    const tag = id.slice(0, 8);
    const detail = await api(`/alerts/${id}`);
    const history = h("div", {}, historyList(detail));
    const assignedTo = h("p", { class: "assigned" }, detail.assigned_to_name ? `Assigned to ${detail.assigned_to_name}` : "Not assigned");
    row.refreshHistory = async () => {
      const fresh = await api(`/alerts/${id}`);
      history.replaceChildren(historyList(fresh));
      assignedTo.textContent = fresh.assigned_to_name ? `Assigned to ${fresh.assigned_to_name}` : "Not assigned";
    };
    const assignee = h("select", { id: `assign-${tag}` },
      members.map((m) => h("option", { value: m.id, selected: m.id === alert.assigned_to }, `${m.display_name} (${m.role})`)));
    const snooze = h("select", { id: `snooze-${tag}` }, SNOOZES.map(([v, t]) => h("option", { value: v }, t)));
    const comment = h("input", { id: `comment-${tag}`, maxlength: 2000, required: true });
    const reason = h("input", { id: `reason-${tag}`, minlength: 3, maxlength: 500, required: true });
    const form = (label, control, button, submit) => h("form", { onsubmit: (e) => { e.preventDefault(); submit(); } },
      h("span", {}, h("label", { for: control.id }, label), control), h("button", { type: "submit" }, button));
    return h("td", { colspan: 7 },
      h("p", {}, h("a", { href: `#/patients/${alert.patient_id}` }, "Open the patient's charts"),
        ` · detector ${alert.detector} · episode began ${when(alert.episode_started_at, alert.patient_time_zone)} · ${alert.occurrences} occurrence(s)`),
      assignedTo,
      form("Assign to", assignee, "Assign", () => act(current(), "assign", { user_id: assignee.value })),
      form("Snooze for", snooze, "Snooze", () => act(current(), "snooze", {
        until: new Date(Date.now() + Number(snooze.value) * 3600e3).toISOString(),
      })),
      form("Comment", comment, "Add comment", async () => {
        await act(current(), "comments", { text: comment.value });
        comment.value = "";
      }),
      form("Reason it is false", reason, "Dismiss as false", () => act(current(), "dismiss", { reason: reason.value })),
      h("h3", { class: "small" }, "History"), history,
    );
  }

  function rowsFor(alert) {
    const name = alert.patient_name ?? alert.patient_id.slice(0, 8);
    const assigned = alert.assigned_to ? ` · assigned to ${alert.assigned_to === auth.me.id ? "you" : alert.assigned_to_name ?? "someone"}` : "";
    const pick = h("input", {
      type: "checkbox", checked: selected.has(alert.id), "aria-label": `Select the alert about ${name}`,
      onchange: (e) => { (e.target.checked ? selected.add(alert.id) : selected.delete(alert.id)); showBulk(); },
    });
    const toggle = h("button", {
      type: "button", class: "quiet", "aria-expanded": expanded.has(alert.id) ? "true" : "false",
      onclick: () => {
        if (expanded.has(alert.id)) expanded.delete(alert.id);
        else expanded.add(alert.id);
        render(alert.id);
      },
    }, "Work…");
    const main = h("tr", { "data-alert-id": alert.id },
      h("td", { class: "pick" }, pick),
      h("td", {}, severityBadge(alert.severity),
        alert.escalation_level ? h("div", { class: "muted" }, `escalated ×${alert.escalation_level}`) : null),
      h("td", {}, h("a", { href: `#/patients/${alert.patient_id}` }, name),
        h("div", { class: "muted", title: alert.alert_type }, alertLabel(alert.alert_type))),
      h("td", { class: "summary" }, glucoseInText(alert.summary)),
      h("td", { title: when(alert.opened_at, alert.patient_time_zone), "data-opened": alert.opened_at }, age(alert.opened_at)),
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
        workPanel(alert.id, row).then((cell) => row.append(cell));
        panels.set(alert.id, panel);
      }
      rows.push(panel);
    } else {
      panels.delete(alert.id);
    }
    return rows;
  }

  function showBulk() {
    bulkBar.hidden = selected.size === 0;
    bulkCount.textContent = `${selected.size} selected`;
    all.checked = alerts.size > 0 && [...alerts.keys()].every((id) => selected.has(id));
  }

  function render(fresh) {
    const now = Date.now();
    const shown = [...alerts.values()].filter((a) => (a.status === "open" || a.status === "acknowledged")
      && !(a.snoozed_until && new Date(a.snoozed_until).getTime() > now));
    tbody.replaceChildren(...shown.flatMap((alert) => {
      const rows = rowsFor(alert);
      if (alert.id === fresh) rows[0].classList.add("fresh");
      return rows;
    }));
    count.textContent = `(${total})`;
    empty.hidden = shown.length > 0;
    table.hidden = shown.length === 0;
    const pages = Math.max(1, Math.ceil(total / PAGE));
    pager.hidden = total <= PAGE;
    pager.replaceChildren(
      h("button", { type: "button", class: "quiet", disabled: state.offset === 0, onclick: () => { state.offset -= PAGE; load(); } }, "Previous page"),
      h("span", { class: "muted" }, ` Page ${Math.floor(state.offset / PAGE) + 1} of ${pages} `),
      h("button", { type: "button", class: "quiet", disabled: state.offset + PAGE >= total, onclick: () => { state.offset += PAGE; load(); } }, "Next page"),
    );
    showBulk();
  }

  function update(event, alert) {
    const before = alerts.get(alert.id);
    // Announce what is new or newly urgent; any other change to an alert off this page is not news.
    announce(alert, before ?? (["opened", "escalated"].includes(event) ? undefined : alert), alert.patient_name ?? "a patient");
    if (before) {
      alerts.set(alert.id, alert);
      render(alert.id);
    }
    reloadSoon();
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
      if (data.type === "alert") return update(data.event, data.alert);
      if (data.type !== "ready") return;
      live.textContent = "Live";
      live.className = "status-live";
      if (delay > 1000) await load();
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
  await load();
  connect();
  const stopRenewing = onTokenRenewed(() => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(authenticateMessage());
  });
  const ticker = setInterval(() => { // ages go on, and snoozes run out
    const now = Date.now();
    const woke = (a) => a.snoozed_until && new Date(a.snoozed_until).getTime() <= now && new Date(a.snoozed_until).getTime() > loadedAt;
    if ([...alerts.values()].some(woke)) return load();
    for (const cell of tbody.querySelectorAll("td[data-opened]")) cell.textContent = age(cell.dataset.opened, now);
  }, 60000);
  return () => {
    closed = true;
    clearTimeout(reloadTimer);
    setCount(0);
    stopRenewing();
    clearInterval(ticker);
    socket?.close();
  };
}

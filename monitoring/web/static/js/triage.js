// A care team's patients, riskiest first, with why each needs a look.

import { api, auth, team } from "./api.js";
import { h, mount, num } from "./dom.js";
import { deviceText } from "./labels.js";

async function teamIds() {
  if (auth.me.role !== "admin") return auth.me.team_ids;
  return (await api("/teams")).map((t) => t.id);
}

export async function triageView() {
  const ids = await teamIds();
  if (ids.length === 0) return mount(h("h1", {}, "Triage"), h("p", {}, "You are not in a care team yet."));
  const teams = await Promise.all(ids.map((id) => team(id)));
  const picker = h("select", { id: "team" }, teams.map((t) => h("option", { value: t.id }, t.name)));
  const body = h("div");
  picker.addEventListener("change", () => show(picker.value));
  mount(h("h1", {}, "Triage"), h("label", { for: "team" }, "Care team"), picker, body);

  async function show(teamId) {
    const rows = await api(`/teams/${teamId}/triage`);
    const open = (counts) => Object.entries(counts).filter(([, n]) => n).map(([s, n]) => `${n} ${s}`).join(", ") || "none";
    const tir = (row) => row.time_in_range === null ? "–"
      : `${num(row.time_in_range)} %` + (row.previous_time_in_range === null ? "" : ` (was ${num(row.previous_time_in_range)} %)`);
    body.replaceChildren(rows.length === 0 ? h("p", {}, "No patients in this team.") : h("table", {},
      h("caption", { class: "muted" }, "Risk: open alerts weighted by severity, plus 20 for each flag."),
      h("thead", {}, h("tr", {}, ["Patient", "Risk", "Flags", "Open alerts", "Time in range", "Days with readings", "Devices offline"]
        .map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((row) => h("tr", {},
        h("td", {}, h("a", { href: `#/patients/${row.patient_id}` }, row.display_name)),
        h("td", {}, row.risk),
        h("td", {}, row.flags.join(", ") || "–"),
        h("td", {}, open(row.open_alerts)),
        h("td", {}, tir(row)),
        h("td", {}, `${row.adherence_days} of ${row.monitored_days}`),
        h("td", {}, row.devices_offline.map(deviceText).join(", ") || "–"),
      ))),
    ));
  }
  await show(picker.value);
}

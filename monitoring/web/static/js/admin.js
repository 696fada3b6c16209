// Administrators: enrol patients into care teams, register devices and assign them.

import { api, patientIndex } from "./api.js";
import { h, mount, toast, when } from "./dom.js";
import { conditionLabel, kindLabel } from "./labels.js";

const CONDITIONS = ["hypertension", "type1_diabetes", "type2_diabetes", "heart_failure", "copd", "atrial_fibrillation"];
const KINDS = ["wearable", "bp_cuff", "cgm", "glucometer", "scale", "pulse_oximeter", "thermometer"];

function field(id, label, control) {
  control.id = id;
  return h("div", {}, h("label", { for: id }, label), control);
}

export async function adminView() {
  const [teams, patientsById] = await Promise.all([api("/teams"), patientIndex({ fresh: true })]);
  const patients = [...patientsById.values()].sort((a, b) => a.display_name.localeCompare(b.display_name));
  const credentials = h("div", { "aria-live": "polite" });
  const devicesBody = h("tbody");
  const patientOptions = (blank) => [h("option", { value: "" }, blank), ...patients.map((p) => h("option", { value: p.id }, `${p.display_name} (${p.mrn})`))];

  // Enrol a patient.
  const mrn = h("input", { required: true, maxlength: 64 });
  const name = h("input", { required: true, maxlength: 200 });
  const born = h("input", { type: "date" });
  const teamPick = h("select", {}, h("option", { value: "" }, "No team yet"), teams.map((t) => h("option", { value: t.id }, t.name)));
  // Where the patient lives: their days, mornings and the times in their alerts follow it.
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const zones = ["UTC", ...Intl.supportedValuesOf("timeZone").filter((z) => z !== "UTC")];
  const zonePick = h("select", {}, zones.map((z) => h("option", { value: z, selected: z === here }, z)));
  const checks = CONDITIONS.map((c) => h("input", { type: "checkbox", value: c, id: `condition-${c}` }));
  const enrol = h("form", { onsubmit: async (e) => {
    e.preventDefault();
    try {
      const patient = await api("/patients", { method: "POST", body: {
        mrn: mrn.value, display_name: name.value, birth_date: born.value || null,
        care_team_id: teamPick.value || null, time_zone: zonePick.value, conditions: checks.filter((c) => c.checked).map((c) => c.value),
      } });
      toast(`Enrolled ${patient.display_name}; care plan has ${patient.care_plan.length} limits.`);
      location.hash = `#/patients/${patient.id}`;
    } catch (error) {
      toast(`Not enrolled: ${error.message}`, { bad: true });
    }
  } },
    h("fieldset", {}, h("legend", {}, "Enrol a patient"),
      h("div", { class: "form-row" }, field("mrn", "MRN", mrn), field("display-name", "Name", name), field("birth-date", "Birth date", born), field("care-team", "Care team", teamPick), field("time-zone", "Time zone", zonePick)),
      h("fieldset", { class: "checks" }, h("legend", {}, "Conditions"), checks.map((c) => h("label", { for: c.id }, c, conditionLabel(c.value)))),
      h("button", { type: "submit" }, "Enrol")));

  // Register a device: its MQTT password is shown here once.
  const serial = h("input", { required: true, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{2,63}", maxlength: 64 });
  const kind = h("select", {}, KINDS.map((k) => h("option", { value: k }, kindLabel(k))));
  const owner = h("select", {}, patientOptions("Not assigned yet"));
  const register = h("form", { onsubmit: async (e) => {
    e.preventDefault();
    try {
      const issued = await api("/devices", { method: "POST", body: { serial: serial.value, kind: kind.value, patient_id: owner.value || null } });
      showCredentials(credentials, issued);
      serial.value = "";
      await listDevices();
    } catch (error) {
      toast(`Not registered: ${error.message}`, { bad: true });
    }
  } },
    h("fieldset", {}, h("legend", {}, "Register a device"),
      h("div", { class: "form-row" }, field("serial", "Serial (its MQTT username)", serial), field("kind", "Kind", kind), field("owner", "Patient", owner)),
      h("button", { type: "submit" }, "Register")));

  // Requests can finish out of order (the first load of the page may end after a registration's
  // reload): only the newest one draws the table.
  let listing = 0;
  async function listDevices() {
    const mine = ++listing;
    const page = await api("/devices", { params: { limit: 1000 } });
    if (mine !== listing) return;
    devicesBody.replaceChildren(...page.items.map((d) => {
      const pick = h("select", { id: `assign-${d.id}`, "aria-label": `Patient for device ${d.serial}` }, patientOptions("Choose a patient"));
      pick.value = d.patient_id ?? "";
      const change = async (action, body) => {
        try {
          await api(`/devices/${d.id}/${action}`, { method: "POST", body });
          toast(`Device ${d.serial}: ${action} done.`);
          await listDevices();
        } catch (error) {
          toast(`Device ${d.serial}: ${error.message}`, { bad: true });
        }
      };
      return h("tr", {},
        h("td", {}, d.serial), h("td", {}, kindLabel(d.kind)),
        h("td", {}, d.patient_id ? patientsById.get(d.patient_id)?.display_name ?? d.patient_id : "–"),
        h("td", {}, d.online ? "online" : `offline${d.last_seen_at ? `, last seen ${when(d.last_seen_at)}` : ""}`),
        h("td", {}, h("div", { class: "actions" }, pick,
          h("button", { type: "button", onclick: () => pick.value && change("assign", { patient_id: pick.value }) }, "Assign"),
          d.patient_id ? h("button", { type: "button", class: "quiet", onclick: () => change("unassign") }, "Unassign") : null,
          h("button", { type: "button", class: "quiet", onclick: async () => {
            try { showCredentials(credentials, await api(`/devices/${d.id}/credentials`, { method: "POST" })); } catch (error) { toast(error.message, { bad: true }); }
          } }, "New credentials"),
          ...(d.kind === "cgm" ? nightscoutButtons(d, credentials) : []))),
      );
    }));
  }

  mount(h("h1", {}, "Enrolment"), enrol, register, credentials,
    h("h2", {}, "Devices at your site"),
    h("table", {}, h("thead", {}, h("tr", {}, ["Serial", "Kind", "Patient", "Connection", "Assign"].map((t) => h("th", { scope: "col" }, t)))), devicesBody));
  await listDevices();
}

function showCredentials(target, issued) {
  target.replaceChildren(h("div", { class: "secret", role: "alert" },
    h("h2", {}, `Credentials for ${issued.device.serial}`),
    h("p", {}, "Copy these into the device now: the password is stored only as a hash and will not be shown again."),
    h("dl", { class: "facts" },
      h("div", {}, h("dt", {}, "MQTT username"), h("dd", {}, h("code", { id: "mqtt-username" }, issued.mqtt_username))),
      h("div", {}, h("dt", {}, "MQTT password"), h("dd", {}, h("code", { id: "mqtt-password" }, issued.mqtt_password))),
      h("div", {}, h("dt", {}, "Publishes on"), h("dd", {}, h("code", {}, issued.readings_topic)))),
    h("button", { type: "button", class: "quiet", onclick: () => target.replaceChildren() }, "I have copied them")));
}

// A CGM can also take uploads from a phone app that speaks Nightscout (xDrip+, ...).
function nightscoutButtons(device, target) {
  return [
    h("button", { type: "button", class: "quiet", onclick: async () => {
      try { showUploader(target, await api(`/devices/${device.id}/nightscout`, { method: "POST" })); } catch (error) { toast(error.message, { bad: true }); }
    } }, "Nightscout uploader"),
    h("button", { type: "button", class: "quiet", onclick: async () => {
      try {
        const answer = await api(`/devices/${device.id}/nightscout`, { method: "DELETE" });
        toast(answer.revoked ? `Device ${device.serial}: Nightscout uploader revoked.` : `Device ${device.serial} had no Nightscout uploader.`);
      } catch (error) { toast(error.message, { bad: true }); }
    } }, "Revoke uploader"),
  ];
}

function showUploader(target, issued) {
  target.replaceChildren(h("div", { class: "secret", role: "alert" },
    h("h2", {}, `Nightscout uploader for ${issued.device.serial}`),
    h("p", {}, "Enter these in the patient's CGM app (its Nightscout or REST upload settings) now: they are stored only as digests and will not be shown again. Registering again replaces them."),
    h("dl", { class: "facts" },
      h("div", {}, h("dt", {}, "Nightscout URL"), h("dd", {}, h("code", { id: "nightscout-url" }, issued.base_url))),
      h("div", {}, h("dt", {}, "API secret"), h("dd", {}, h("code", { id: "nightscout-secret" }, issued.api_secret))),
      h("div", {}, h("dt", {}, "Access token"), h("dd", {}, h("code", { id: "nightscout-token" }, issued.token)))),
    h("button", { type: "button", class: "quiet", onclick: () => target.replaceChildren() }, "I have copied them")));
}

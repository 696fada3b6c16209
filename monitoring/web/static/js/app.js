// Router: one hash route per view; what a user sees depends on their role.

import { api, auth, loadMe, signIn, whenSignedOut } from "./api.js";
import { h, mount, toast } from "./dom.js";
import { adminView } from "./admin.js";
import { panelView } from "./panel.js";
import { patientView } from "./patient.js";
import { queueView } from "./queue.js";
import { triageView } from "./triage.js";

const NAV = {
  coordinator: [["#/queue", "Alert queue"], ["#/triage", "Triage"], ["#/patients", "Patients"]],
  clinician: [["#/patients", "Patients"], ["#/queue", "Alert queue"], ["#/triage", "Triage"]],
  admin: [["#/admin", "Enrolment"], ["#/patients", "Patients"], ["#/triage", "Triage"]],
};

let leaveView = null; // what the current view must stop (a live stream) when another opens

function loginView(problem) {
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const message = h("p", { class: "error", role: "alert" }, problem || "");
  const form = h(
    "form",
    { class: "login", onsubmit: async (event) => {
      event.preventDefault();
      message.textContent = "";
      try {
        await signIn(username.value, password.value);
        // Changing the hash routes (hashchange); routing here as well would build the view
        // twice, and the second copy would replace a form the user had started to fill.
        const start = NAV[auth.me.role][0][0];
        if (location.hash === start) await route();
        else location.hash = start;
      } catch (error) {
        message.textContent = error.message || "Sign-in failed";
      }
    } },
    h("h1", {}, "Sign in"),
    h("label", { for: "username" }, "Username"), username,
    h("label", { for: "password" }, "Password"), password,
    h("p", {}, h("button", { type: "submit" }, "Sign in")),
    message,
  );
  mount(form);
  username.focus();
}

function chrome() {
  const me = auth.me;
  const nav = document.getElementById("nav");
  const here = location.hash.split("/").slice(0, 2).join("/");
  nav.replaceChildren(
    ...(me ? NAV[me.role] : []).map(([href, text]) =>
      h("a", { href, "aria-current": href === here ? "page" : null }, text)),
  );
  document.getElementById("who").textContent = me ? `${me.display_name} (${me.role})` : "";
  document.getElementById("sign-out").hidden = !me;
  const unit = document.getElementById("glucose-unit");
  unit.closest("label").hidden = !me;
  if (me) unit.value = me.glucose_unit;
}

// One view is built at a time, in the order the user asked for them: a hash change while a view
// still loads (a link clicked during sign-in) waits for it, so the last one asked for is what shows.
let routing = Promise.resolve();
function route() {
  routing = routing.then(buildView, buildView);
  return routing;
}

async function buildView() {
  if (leaveView) {
    leaveView();
    leaveView = null;
  }
  if (!auth.token) {
    auth.me = null;
    chrome();
    return loginView();
  }
  if (!auth.me) {
    try {
      await loadMe();
    } catch {
      auth.token = null;
      chrome();
      return loginView("Your session has ended; sign in again.");
    }
  }
  const [, section, id] = (location.hash || "#/").split("/");
  if (!section) {
    location.hash = NAV[auth.me.role][0][0];
    return;
  }
  chrome();
  const views = {
    queue: () => queueView(),
    triage: () => triageView(),
    patients: () => (id ? patientView(id) : panelView()),
    admin: () => adminView(),
  };
  const view = views[section];
  if (!view) return mount(h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Start page")));
  try {
    leaveView = (await view()) || null;
  } catch (error) {
    mount(h("h1", {}, "Something went wrong"), h("p", { class: "error" }, error.message));
  }
  document.getElementById("view").focus();
}

whenSignedOut(() => {
  toast("Signed out: the session expired.", { bad: true });
  route();
});
document.getElementById("sign-out").addEventListener("click", () => {
  auth.token = null;
  auth.me = null;
  location.hash = "#/";
  route();
});
document.getElementById("glucose-unit").addEventListener("change", async (event) => {
  try {
    auth.me = await api("/auth/me", { method: "PATCH", body: { glucose_unit: event.target.value } });
    toast(`Glucose is now shown in ${auth.me.glucose_unit}.`);
    await route(); // draw the view again in the new unit
  } catch (error) {
    toast(`The unit was not changed: ${error.message}`, { bad: true });
  }
});
window.addEventListener("hashchange", route);
route();

// The care-team API as the page uses it: a bearer token kept for this browser tab only.

const BASE = "/api/v1";
const KEY = "rpm.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const auth = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
  me: null,
};

let onSignedOut = () => {};
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

export async function api(path, { method = "GET", body, params, raw = false } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of [].concat(value)) url.searchParams.append(key, item);
  }
  const headers = { Authorization: `Bearer ${auth.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) {
    auth.token = null;
    onSignedOut();
  }
  if (!response.ok) {
    let code = "http_error";
    let message = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      code = problem.error?.code ?? code;
      message = problem.error?.message ?? message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, code, message);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

export async function signIn(username, password) {
  const form = new URLSearchParams({ username, password });
  const response = await fetch(`${BASE}/auth/token`, { method: "POST", body: form });
  const payload = await response.json();
  if (!response.ok) throw new ApiError(response.status, payload.error?.code, payload.error?.message);
  auth.token = payload.access_token;
  return loadMe();
}

export async function loadMe() {
  auth.me = await api("/auth/me");
  return auth.me;
}

export function streamUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${BASE}/alerts/stream?access_token=${encodeURIComponent(auth.token)}`;
}

// Patients the user may see, by id (alert rows carry ids only), and care teams with members.
let patients = null;
export async function patientIndex({ fresh = false } = {}) {
  if (!patients || fresh) {
    const page = await api("/patients", { params: { limit: 1000 } });
    patients = new Map(page.items.map((p) => [p.id, p]));
  }
  return patients;
}

const teams = new Map();
export async function team(id) {
  if (!teams.has(id)) teams.set(id, await api(`/teams/${id}`));
  return teams.get(id);
}

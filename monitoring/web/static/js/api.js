// The care-team API as the page uses it: a bearer token kept for this browser tab only.

const BASE = "/api/v1";
const KEY = "rpm.token";
const EXPIRES = "rpm.token.expires"; // epoch ms
const REFRESH_AHEAD_MS = 60000; // a token is renewed this long before it runs out

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
    else {
      sessionStorage.removeItem(KEY);
      sessionStorage.removeItem(EXPIRES);
      clearTimeout(refreshTimer);
    }
  },
  me: null,
};

// Tokens live minutes; while the page is open it exchanges its token for a fresh one before it
// runs out (the server stops at the session's limit). Listeners (the live stream) get the new one.
let refreshTimer = null;
const renewalListeners = new Set();
export function onTokenRenewed(handler) {
  renewalListeners.add(handler);
  return () => renewalListeners.delete(handler);
}

function keep(payload) {
  auth.token = payload.access_token;
  sessionStorage.setItem(EXPIRES, String(Date.now() + payload.expires_in * 1000));
  scheduleRefresh();
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const expires = Number(sessionStorage.getItem(EXPIRES) || 0);
  if (!auth.token || !expires) return;
  const wait = Math.max(0, expires - Date.now() - REFRESH_AHEAD_MS);
  refreshTimer = setTimeout(async () => {
    try {
      keep(await api("/auth/refresh", { method: "POST" }));
      for (const handler of renewalListeners) handler(auth.token);
    } catch {
      // 401 signs out (api() does it); anything else: the next request will tell
    }
  }, wait);
}
scheduleRefresh();

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
  keep(payload);
  return loadMe();
}

export async function loadMe() {
  auth.me = await api("/auth/me");
  return auth.me;
}

// The live stream's address; the token goes in the first message, never in the URL.
export function streamUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${BASE}/alerts/stream`;
}

export function authenticateMessage() {
  return JSON.stringify({ type: "authenticate", token: auth.token });
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

// The dashboard's only way to the workspace: the JSON API under /api/v1
// (src/ui/openapi.json), with the session cookie and its CSRF token.
let csrf = null;

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const res = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, (data && data.error && data.error.message) || res.statusText);
  return data;
}

export const get = (path, params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return call("GET", "/api/v1" + path + (s ? "?" + s : ""));
};
export const post = (path, body) => call("POST", "/api/v1" + path, body || {});

export async function session() {
  const s = await get("/session");
  csrf = s.csrf || null;
  return s;
}
export async function signIn(credential, mode) {
  const s = await post("/session", mode === "keys" ? { key: credential } : { token: credential });
  csrf = s.csrf;
  return s;
}
export async function signOut() { await post("/session/end"); csrf = null; }

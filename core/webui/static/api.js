// api.js: the HTTP calls of the client. Same origin, so the HttpOnly token
// cookie authenticates every call; every POST says it is JSON, which the
// server requires (and which keeps simple cross-site form posts out).

/** HttpError is a non-2xx answer, with the contract's error code. */
export class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** request sends one API call and returns its decoded JSON body. */
export async function request(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (method === 'POST') {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new HttpError(0, 'NETWORK', 'the server cannot be reached');
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    // A body that is not JSON (a proxy's page): the status says enough.
  }
  if (!res.ok) {
    const e = data && data.error;
    throw new HttpError(res.status, (e && e.code) || `HTTP_${res.status}`, (e && e.message) || res.statusText);
  }
  return data;
}

export const health = () => request('GET', '/healthz');
export const me = () => request('GET', '/api/me');
export const login = (username, password) => request('POST', '/api/auth/login', { username, password });
export const register = (username, password) => request('POST', '/api/auth/register', { username, password });
export const logout = () => request('POST', '/api/auth/logout');
export const searchUsers = (q) => request('GET', `/api/users?q=${encodeURIComponent(q)}&limit=10`);
export const adminUsers = () => request('GET', '/api/admin/users');
export const ban = (id) => request('POST', `/api/admin/users/${encodeURIComponent(id)}/ban`);
export const unban = (id) => request('POST', `/api/admin/users/${encodeURIComponent(id)}/unban`);

/** history is one page of a conversation, newest first. */
export function history(withID, before, limit) {
  let path = `/api/messages?with=${encodeURIComponent(withID)}&limit=${limit}`;
  if (before) path += `&before=${encodeURIComponent(before)}`;
  return request('GET', path);
}

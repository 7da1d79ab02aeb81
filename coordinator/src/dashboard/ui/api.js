// Every request of the dashboard goes through here: one place adds the bearer token (kept in
// sessionStorage for the session), one place reads the live stream (fetch-based server-sent
// events, so the stream carries the same Authorization header as every other request).
const KEY = 'syncline.token';

export const token = {
  get: () => sessionStorage.getItem(KEY) ?? '',
  set: (value) => (value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY)),
};

export class Unauthorized extends Error {
  constructor() {
    super('the cluster asks for a valid token');
    this.name = 'Unauthorized';
  }
}

export async function api(path, init = {}) {
  const headers = new Headers(init.headers);
  const t = token.get();
  if (t) headers.set('authorization', `Bearer ${t}`);
  const res = await fetch(new URL(path, document.baseURI), { ...init, headers });
  if (res.status === 401) throw new Unauthorized();
  return res;
}

export async function getJson(path) {
  const res = await api(path);
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  }
  return res.json();
}

/** Reads `api/events` until `signal` aborts or the stream ends; calls onEvent(name, data). */
export async function stream(onEvent, signal) {
  const res = await api('api/events', { signal, headers: { accept: 'text/event-stream' } });
  if (!res.ok || !res.body) throw new Error(`event stream: ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length) onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}

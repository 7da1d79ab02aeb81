// Node only: a fetch that trusts a given CA (a cluster started with `syncline up --tls`), for
// loadModel's `fetch` option. Node's global fetch trusts only the system's CAs and offers no
// option for others; node:https does.
import { request } from 'node:https';
import { Readable } from 'node:stream';

/** A fetch (GET and HEAD) over node:https that trusts `ca` (PEM) in addition to nothing else. */
export function fetchTrusting(ca: string | Buffer): typeof fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.protocol !== 'https:') {
        reject(new TypeError(`fetchTrusting fetches https: URLs only, not ${url.href}`));
        return;
      }
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
      const req = request(url, { method: init?.method ?? 'GET', ca, headers }, (res) => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) out.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        const status = res.statusCode ?? 0;
        const body = status === 204 || status === 304 || init?.method === 'HEAD' ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        if (body === null) res.resume();
        resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers: out }));
      });
      req.once('error', (err) => reject(new TypeError(`fetch ${url.href} failed: ${err.message}`, { cause: err })));
      init?.signal?.addEventListener('abort', () => req.destroy(init.signal?.reason instanceof Error ? init.signal.reason : new Error('aborted')), { once: true });
      req.end();
    });
}

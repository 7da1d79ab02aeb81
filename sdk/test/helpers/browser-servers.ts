// HTTP servers for the browser test, on 127.0.0.1: one serves a blank page and the SDK's browser
// bundle; the others stand between the page and the coordinator, forwarding requests as they
// are (CORS and caching headers included) while recording them, one of them flipping a byte of
// every weight shard on the way.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface TestServer {
  url: string;
  /** Paths requested, in order (for the proxies: paths asked of the coordinator). */
  requests: string[];
  /** For the proxies: each request's path and the coordinator's status, in order. */
  answers: { path: string; status: number }[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { js: 'text/javascript', wasm: 'application/wasm', html: 'text/html' };

const PAGE = `<!doctype html>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Syncline SDK test page</title>
<script type="module">
import * as syncline from '/sdk/syncline-sdk.min.js';
window.syncline = syncline;
</script>`;

async function listen(server: Server, requests: string[], answers: TestServer['answers'] = []): Promise<TestServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `/` is a page that puts the SDK's exports on `window.syncline`; `/sdk/...` is the bundle folder. */
export function servePage(bundleDir: string): Promise<TestServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(path);
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    const file = path.startsWith('/sdk/') ? path.slice('/sdk/'.length) : undefined;
    if (file === undefined || file.includes('..')) return void res.writeHead(404).end();
    readFile(join(bundleDir, file)).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[file.split('.').at(-1) ?? ''] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  return listen(server, requests);
}

/** Forwards every GET to `target`; with `corrupt`, the 101st byte of each .bin body is flipped. */
export function serveProxy(target: string, options: { corrupt?: boolean } = {}): Promise<TestServer> {
  const requests: string[] = [];
  const answers: TestServer['answers'] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(path);
    void (async () => {
      const conditional = req.headers['if-none-match'];
      const upstream = await fetch(`${target}${path}`, { headers: conditional ? { 'if-none-match': conditional } : {} });
      answers.push({ path, status: upstream.status });
      const body = new Uint8Array(await upstream.arrayBuffer());
      if (options.corrupt && path.endsWith('.bin') && body.length > 100) body[100] = body[100]! ^ 0xff;
      const headers: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) headers[name] = value;
      });
      res.writeHead(upstream.status, headers).end(body);
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  return listen(server, requests, answers);
}

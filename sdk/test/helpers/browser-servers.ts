// HTTP servers for the browser test, on 127.0.0.1: one serves a blank page and the SDK's browser
// bundle; the others stand between the page and the coordinator, forwarding requests as they
// are (CORS and caching headers included) while recording them, one of them flipping a byte of
// every weight shard on the way.
import { createHash } from 'node:crypto';
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

/** How a proxy alters what it forwards: shards only, model.json only, or a shard and its digest in model.json together. */
export type Tamper = 'shard' | 'model-json' | 'shard-and-digest';

const flip = (body: Uint8Array) => {
  if (body.length > 100) body[100] = body[100]! ^ 0xff;
  return body;
};

/** model.json altered: the last layer's activation changed, or each shard's sha256 made to match its flipped copy. */
async function tamperModelJson(body: Uint8Array, tamper: Tamper, target: string, path: string): Promise<Uint8Array> {
  const json = JSON.parse(new TextDecoder().decode(body)) as { modelTopology: { config: { layers: { config: { activation?: string } }[] } }; weightsManifest: { paths: string[]; sha256: string[] }[] };
  if (tamper === 'model-json') {
    json.modelTopology.config.layers.at(-1)!.config.activation = 'linear';
  } else {
    const folder = `${target}${path.slice(0, path.lastIndexOf('/') + 1).replace('/latest/', '/1/')}`;
    for (const group of json.weightsManifest) {
      group.sha256 = await Promise.all(group.paths.map(async (p) => createHash('sha256').update(flip(new Uint8Array(await (await fetch(folder + p)).arrayBuffer()))).digest('hex')));
    }
  }
  return new TextEncoder().encode(JSON.stringify(json));
}

/** Forwards every GET to `target`; `corrupt` (or `tamper: 'shard'`) flips the 101st byte of each .bin body; `tamper` alters model.json too. */
export function serveProxy(target: string, options: { corrupt?: boolean; tamper?: Tamper } = {}): Promise<TestServer> {
  const tamper = options.tamper ?? (options.corrupt ? 'shard' : undefined);
  const requests: string[] = [];
  const answers: TestServer['answers'] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(path);
    void (async () => {
      const conditional = req.headers['if-none-match'];
      const upstream = await fetch(`${target}${path}`, { headers: conditional ? { 'if-none-match': conditional } : {} });
      answers.push({ path, status: upstream.status });
      let body: Uint8Array = new Uint8Array(await upstream.arrayBuffer());
      if ((tamper === 'shard' || tamper === 'shard-and-digest') && path.endsWith('.bin')) flip(body);
      if ((tamper === 'model-json' || tamper === 'shard-and-digest') && path.endsWith('/model.json') && upstream.status === 200) body = await tamperModelJson(body, tamper, target, path);
      const headers: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) headers[name] = value;
      });
      res.writeHead(upstream.status, headers).end(body);
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  return listen(server, requests, answers);
}

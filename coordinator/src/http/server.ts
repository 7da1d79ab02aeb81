// The coordinator's HTTP endpoint: the model registry for the SDK (/v1/models), the dashboard
// (/ and /api), the drawing demo (/demo), health and Prometheus metrics. Routes are plain
// prefix dispatch; each area answers its own paths.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Counter, Histogram, type Registry as MetricsRegistry } from 'prom-client';
import { demoPage } from '../registry/demo-page.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { modelRoutes, type ModelAccess } from '../registry/model-routes.js';
import { HttpError, REVALIDATE, send, sendError, sendJson } from './respond.js';
import { readStatic } from './static-files.js';

export interface HttpEndpoint {
  server: Server;
  baseUrl: string;
  close(): Promise<void>;
}

/** Answers the paths under one first segment (`/api/...` → prefix "api"); `parts` excludes it. */
export interface HttpArea {
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, parts: string[], query: URLSearchParams): Promise<void>;
}

/** A small fixed set of route names for the request metrics (never the raw path). */
function routeOf(parts: string[]): string {
  if (parts[0] === 'v1' && parts[1] === 'models') {
    if (parts.length === 2) return 'models_list';
    const file = parts.at(-1);
    if (file === 'model.json') return parts[3] === 'latest' ? 'model_json_latest' : 'model_json';
    return 'shard';
  }
  if (parts[0] === 'api') return parts[1] === 'events' ? 'api_events' : 'api';
  if (parts.length === 0 || parts[0] === 'ui') return 'dashboard';
  if (parts[0] === 'demo' || parts[0] === 'metrics' || parts[0] === 'healthz') return parts[0];
  if (parts[0] === 'v1' && parts[1] === 'keys') return 'keys';
  return 'other';
}

/** Where `node sdk/scripts/build.mjs` puts the browser bundle, in this repository's layout. */
const DEFAULT_SDK_BUNDLE_DIR = fileURLToPath(new URL('../../../sdk/dist/browser/', import.meta.url));

/** A server's certificate (chain) and private key, PEM. */
export interface TlsServerOptions {
  cert: string;
  key: string;
}

export async function startHttpEndpoint(opts: ModelAccess & {
  registry: ModelRegistry;
  metrics: MetricsRegistry;
  host: string;
  port: number;
  /** Public base URL; defaults to http(s)://host:port. */
  publicUrl?: string;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: TlsServerOptions;
  /** The public keys (base64 ed25519) published models are signed with, listed at /v1/keys. */
  signingKeys?: string[];
  /** The SDK's browser bundle that /demo loads; defaults to this repository's sdk/dist/browser. */
  sdkBundleDir?: string;
  /** More areas (the dashboard); "" is the root page. */
  areas?: HttpArea[];
}): Promise<HttpEndpoint> {
  let baseUrl = '';
  const sdkBundleDir = opts.sdkBundleDir ?? DEFAULT_SDK_BUNDLE_DIR;
  const models = modelRoutes(opts.registry, () => baseUrl, opts);
  const areas = new Map((opts.areas ?? []).map((a) => [a.prefix, a]));
  const requests = new Counter({ name: 'syncline_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [opts.metrics] });
  const durations = new Histogram({
    name: 'syncline_http_request_duration_seconds',
    help: 'HTTP request time until the answer is written, by route',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [opts.metrics],
  });

  async function serveDemo(res: ServerResponse, parts: string[]): Promise<void> {
    if (parts.length === 0) return send(res, 200, demoPage(), { 'content-type': 'text/html; charset=utf-8', 'cache-control': REVALIDATE });
    // /demo/sdk/{file} or /demo/sdk/chunks/{file}: the SDK bundle, read from its build folder.
    if (parts[0] !== 'sdk') throw new HttpError(404, `no route for /demo/${parts.join('/')}`);
    const file = await readStatic(sdkBundleDir, parts.slice(1)).catch((err: unknown) => {
      throw err instanceof HttpError ? new HttpError(404, `${err.message} (build the SDK bundle: node sdk/scripts/build.mjs)`) : err;
    });
    send(res, 200, file.body, { 'content-type': file.type, 'cache-control': REVALIDATE });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, pathname: string, parts: string[] | undefined, search: string): Promise<void> {
    if (req.method === 'OPTIONS') {
      return send(res, 204, '', { 'access-control-allow-methods': 'GET, HEAD, OPTIONS', 'access-control-allow-headers': '*, authorization, range, if-none-match' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET');
    if (parts === undefined) throw new HttpError(400, 'bad path encoding');
    if (parts[0] === 'v1' && parts[1] === 'models') return models.handle(req, res, parts.slice(2), new URLSearchParams(search));
    if (pathname === '/healthz') return sendJson(res, 200, { ok: true });
    if (pathname === '/v1/keys') return sendJson(res, 200, { keys: (opts.signingKeys ?? []).map((publicKey) => ({ algorithm: 'ed25519', publicKey })) });
    if (pathname === '/metrics') {
      const text = await opts.metrics.metrics();
      return send(res, 200, text, { 'content-type': opts.metrics.contentType, 'cache-control': REVALIDATE });
    }
    if (parts[0] === 'demo') return serveDemo(res, parts.slice(1));
    const area = areas.get(parts[0] ?? '');
    if (area) return area.handle(req, res, parts.slice(1), new URLSearchParams(search));
    throw new HttpError(404, `no route for ${pathname}`);
  }

  // Label children looked up once: the registry answers tens of thousands of requests a second.
  const counters = new Map<string, Counter.Internal>();
  const timers = new Map<string, Histogram.Internal<string>>();
  const count = (route: string, status: number) => {
    const key = `${route} ${status}`;
    let child = counters.get(key);
    if (!child) counters.set(key, (child = requests.labels(route, String(status))));
    child.inc();
  };
  const time = (route: string, seconds: number) => {
    let child = timers.get(route);
    if (!child) timers.set(route, (child = durations.labels(route)));
    child.observe(seconds);
  };

  const listener: RequestListener = (req, res) => {
    const started = performance.now();
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    let parts: string[] | undefined;
    try {
      parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      parts = undefined;
    }
    const route = parts === undefined ? 'other' : routeOf(parts);
    res.once('finish', () => {
      // The live stream ends when the page closes: its length is no request time.
      if (route !== 'api_events') time(route, (performance.now() - started) / 1000);
      count(route, res.statusCode);
    });
    handle(req, res, pathname, parts, q < 0 ? '' : raw.slice(q + 1)).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    });
  };
  const server: Server = opts.tls ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : createServer(listener);
  // Revalidating clients keep their connections; a long keep-alive spares them a handshake each.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = opts.publicUrl ?? `${opts.tls ? 'https' : 'http'}://${opts.host}:${port}`;
  return {
    server,
    baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// The coordinator's HTTP endpoint: published models as TF.js artifacts for the SDK, health
// and Prometheus metrics.
//   GET /v1/models                                   latest version of every model (JSON)
//   GET /v1/models/{name}/{version|latest}/model.json
//   GET /v1/models/{name}/{version}/{shard}
//   GET /healthz, GET /metrics
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry as MetricsRegistry } from 'prom-client';
import { ModelNotFoundError } from '../errors.js';
import type { ModelRegistry, ResolvedModel } from './model-registry.js';

export interface HttpEndpoint {
  server: Server;
  baseUrl: string;
  close(): Promise<void>;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, headers: Record<string, string>): void {
  res.writeHead(status, {
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'x-syncline-version, content-length',
    ...headers,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, cache = REVALIDATE): void {
  send(res, status, JSON.stringify(value), { 'content-type': 'application/json', 'cache-control': cache });
}

export async function startHttpEndpoint(opts: {
  registry: ModelRegistry;
  metrics: MetricsRegistry;
  host: string;
  port: number;
  /** Public base URL; defaults to http://host:port. */
  publicUrl?: string;
}): Promise<HttpEndpoint> {
  let baseUrl = '';

  async function serveModel(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const [name, versionText, file] = parts as [string, string, string];
    if (!SAFE_SEGMENT.test(name) || !SAFE_SEGMENT.test(file)) throw new HttpError(400, 'bad model or file name');
    const latest = versionText === 'latest';
    const version = latest ? 'latest' : Number(versionText);
    if (version !== 'latest' && !(Number.isInteger(version) && version > 0)) {
      throw new HttpError(400, `bad version ${JSON.stringify(versionText)}: a positive integer or "latest"`);
    }
    let model: ResolvedModel;
    try {
      model = await opts.registry.resolve(name, version);
    } catch (err) {
      if (err instanceof ModelNotFoundError) throw new HttpError(404, err.message);
      throw err;
    }
    if (latest && file !== 'model.json') {
      // Shards only by explicit version, so a publish between two requests cannot mix versions.
      throw new HttpError(404, `shards are served by version; use /v1/models/${name}/${model.version}/${file}`);
    }
    const bytes = await opts.registry.readFile(model, file);
    if (!bytes) throw new HttpError(404, `${name}@${model.version} has no file ${file}`);
    const headers: Record<string, string> = { 'x-syncline-version': String(model.version) };
    if (file === 'model.json') {
      const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
      json.syncline = { ...(json.syncline as object), name: model.name, version: model.version, jobId: model.jobId };
      const body = JSON.stringify(json);
      send(res, 200, req.method === 'HEAD' ? '' : body, {
        ...headers,
        'content-type': 'application/json',
        'cache-control': latest ? REVALIDATE : IMMUTABLE,
        etag: `"${model.name}-${model.version}"`,
      });
      return;
    }
    send(res, 200, bytes, { ...headers, 'content-type': 'application/octet-stream', 'cache-control': IMMUTABLE });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'OPTIONS') {
      send(res, 204, '', { 'access-control-allow-methods': 'GET, HEAD, OPTIONS', 'access-control-allow-headers': '*' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
    if (url.pathname === '/metrics') {
      const text = await opts.metrics.metrics();
      return send(res, 200, text, { 'content-type': opts.metrics.contentType, 'cache-control': REVALIDATE });
    }
    if (parts[0] === 'v1' && parts[1] === 'models' && parts.length === 2) {
      const models = await opts.registry.listLatest();
      return sendJson(res, 200, {
        models: models.map((m) => ({ name: m.name, version: m.version, jobId: m.jobId, url: `${baseUrl}/v1/models/${m.name}/${m.version}/model.json` })),
      });
    }
    if (parts[0] === 'v1' && parts[1] === 'models' && parts.length === 5) return serveModel(req, res, parts.slice(2));
    throw new HttpError(404, `no route for ${url.pathname}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = opts.publicUrl ?? `http://${opts.host}:${port}`;
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

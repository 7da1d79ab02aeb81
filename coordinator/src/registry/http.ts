// The coordinator's HTTP endpoint: published models as TF.js artifacts for the SDK, their
// quantized variants, a demo page, health and Prometheus metrics.
//   GET /v1/models                                            latest version of every model (JSON)
//   GET /v1/models/{name}/{version|latest}/model.json          float32, as published
//   GET /v1/models/{name}/{version}/{shard}
//   GET /v1/models/{name}/{version|latest}/{float16|uint8}/model.json
//   GET /v1/models/{name}/{version}/{float16|uint8}/{shard}    (variants made on first request)
//   GET /demo, /demo/sdk/{file}                               draw a digit, see the prediction
//   GET /healthz, GET /metrics
// Versioned URLs never change, so they are cached as immutable; `latest` must be revalidated
// (ETag, answered with 304), which costs one small request and no weight bytes.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Registry as MetricsRegistry } from 'prom-client';
import { ModelNotFoundError } from '../errors.js';
import { demoPage } from './demo-page.js';
import type { ModelRegistry, ResolvedModel } from './model-registry.js';
import { isQuantization, type Quantization } from './quantize.js';

export interface HttpEndpoint {
  server: Server;
  baseUrl: string;
  close(): Promise<void>;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Where `node sdk/scripts/build.mjs` puts the browser bundle, in this repository's layout. */
const DEFAULT_SDK_BUNDLE_DIR = fileURLToPath(new URL('../../../sdk/dist/browser/', import.meta.url));
const STATIC_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  wasm: 'application/wasm',
  map: 'application/json',
};

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
    'access-control-expose-headers': 'x-syncline-version, content-length, etag',
    ...headers,
    // A 304 has no body; a length here would describe the cached one, which we do not know.
    ...(status !== 304 && { 'content-length': String(Buffer.byteLength(body)) }),
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, cache = REVALIDATE): void {
  send(res, status, JSON.stringify(value), { 'content-type': 'application/json', 'cache-control': cache });
}

/** Whether an If-None-Match header names `etag` (a list, or `*`). */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

export async function startHttpEndpoint(opts: {
  registry: ModelRegistry;
  metrics: MetricsRegistry;
  host: string;
  port: number;
  /** Public base URL; defaults to http://host:port. */
  publicUrl?: string;
  /** The SDK's browser bundle that /demo loads; defaults to this repository's sdk/dist/browser. */
  sdkBundleDir?: string;
}): Promise<HttpEndpoint> {
  let baseUrl = '';
  const sdkBundleDir = opts.sdkBundleDir ?? DEFAULT_SDK_BUNDLE_DIR;

  async function serveModel(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const [name, versionText] = parts as [string, string];
    // {file} or {variant}/{file}
    const variantText = parts.length === 4 ? parts[2]! : undefined;
    const file = parts.at(-1)!;
    if (!SAFE_SEGMENT.test(name) || !SAFE_SEGMENT.test(file)) throw new HttpError(400, 'bad model or file name');
    let variant: Quantization | undefined;
    if (variantText !== undefined) {
      if (!isQuantization(variantText)) throw new HttpError(404, `no variant ${JSON.stringify(variantText)}: float16 or uint8`);
      variant = variantText;
    }
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
    const folder = variant === undefined ? `${model.version}` : `${model.version}/${variant}`;
    if (latest && file !== 'model.json') {
      // Shards only by explicit version, so a publish between two requests cannot mix versions.
      throw new HttpError(404, `shards are served by version; use /v1/models/${name}/${folder}/${file}`);
    }
    const bytes = variant === undefined ? await opts.registry.readFile(model, file) : await opts.registry.readVariantFile(model, variant, file);
    if (!bytes) throw new HttpError(404, `${name}@${folder} has no file ${file}`);
    const headers: Record<string, string> = { 'x-syncline-version': String(model.version) };
    if (file !== 'model.json') {
      send(res, 200, bytes, { ...headers, 'content-type': 'application/octet-stream', 'cache-control': IMMUTABLE });
      return;
    }
    // A version's model.json never changes, so its name, version and variant identify it.
    const etag = `"${model.name}-${model.version}-${variant ?? 'float32'}"`;
    const modelHeaders = { ...headers, 'cache-control': latest ? REVALIDATE : IMMUTABLE, etag };
    if (matches(req.headers['if-none-match'], etag)) {
      send(res, 304, '', modelHeaders);
      return;
    }
    const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    json.syncline = {
      ...(json.syncline as object),
      name: model.name,
      version: model.version,
      jobId: model.jobId,
      ...(variant !== undefined && { quantization: variant }),
    };
    // Node leaves the body out of a HEAD answer itself, keeping its content-length.
    send(res, 200, JSON.stringify(json), { ...modelHeaders, 'content-type': 'application/json' });
  }

  async function serveDemo(res: ServerResponse, parts: string[]): Promise<void> {
    if (parts.length === 1) {
      send(res, 200, demoPage(), { 'content-type': 'text/html; charset=utf-8', 'cache-control': REVALIDATE });
      return;
    }
    // /demo/sdk/{file} or /demo/sdk/chunks/{file}: the SDK bundle, read from its build folder.
    const path = parts.slice(2);
    if (parts[1] !== 'sdk' || path.length === 0 || path.length > 2 || !path.every((p) => SAFE_SEGMENT.test(p))) {
      throw new HttpError(404, `no route for /${parts.join('/')}`);
    }
    const type = STATIC_TYPES[path.at(-1)!.split('.').at(-1) ?? ''];
    if (type === undefined) throw new HttpError(404, `no such file ${path.join('/')}`);
    let body: Buffer;
    try {
      body = await readFile(`${sdkBundleDir}/${path.join('/')}`);
    } catch {
      throw new HttpError(404, `${path.join('/')} is not in the SDK bundle at ${sdkBundleDir} (build it: node sdk/scripts/build.mjs)`);
    }
    send(res, 200, body, { 'content-type': type, 'cache-control': REVALIDATE });
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
    if (parts[0] === 'v1' && parts[1] === 'models' && (parts.length === 5 || parts.length === 6)) return serveModel(req, res, parts.slice(2));
    if (parts[0] === 'demo') return serveDemo(res, parts);
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

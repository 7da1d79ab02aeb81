// The registry's HTTP routes, the path every SDK client takes:
//   GET /v1/models                                            latest version of every model (JSON)
//   GET /v1/models/{name}/{version|latest}/model.json          float32, as published
//   GET /v1/models/{name}/{version}/{shard}                    (Range requests answered 206)
//   GET /v1/models/{name}/{version|latest}/{float16|uint8}/model.json
//   GET /v1/models/{name}/{version}/{float16|uint8}/{shard}    (variants made on first request)
// Versioned URLs never change, so they are cached as immutable; `latest` must be revalidated
// (ETag, answered with 304), which costs one small request and no weight bytes. Everything is
// answered from memory once read: a revalidation touches neither the bucket nor the store.
// Public models are served to anyone; private ones to requests with a token (any role but the
// workers'), and their answers are marked private so no shared cache keeps them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ModelOwners } from '../auth/model-owners.js';
import type { Principal } from '../auth/principal.js';
import { bearerToken } from '../dashboard/auth.js';
import { ModelNotFoundError, UnauthenticatedError } from '../errors.js';
import { HttpError, IMMUTABLE, matches, REVALIDATE, send, sendJson } from '../http/respond.js';
import type { ModelRegistry, ResolvedModel, Variant } from './model-registry.js';
import { isQuantization } from './quantize.js';
import { parseRange } from './range.js';

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface ModelAccess {
  owners: ModelOwners;
  authenticate: (token: string | undefined) => Promise<Principal>;
}

export function modelRoutes(registry: ModelRegistry, baseUrl: () => string, access: ModelAccess) {
  /** Whether the request carries a token that may download private models; 401 for a bad one. */
  async function authenticated(req: IncomingMessage, query: URLSearchParams, required: boolean): Promise<boolean> {
    const token = bearerToken(req, query);
    if (!token && !required) return false;
    try {
      const who = await access.authenticate(token);
      if (who.role === 'worker') throw new UnauthenticatedError('the worker credential does not download models');
      return true;
    } catch (err) {
      if (err instanceof UnauthenticatedError) throw new HttpError(401, err.message);
      throw err;
    }
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, parts: string[], query: URLSearchParams): Promise<void> {
    const [name, versionText] = parts as [string, string];
    // {file} or {variant}/{file}
    const variantText = parts.length === 4 ? parts[2]! : undefined;
    const file = parts.at(-1)!;
    if (!SAFE_SEGMENT.test(name) || !SAFE_SEGMENT.test(file)) throw new HttpError(400, 'bad model or file name');
    let variant: Variant = 'float32';
    if (variantText !== undefined) {
      if (!isQuantization(variantText)) throw new HttpError(404, `no variant ${JSON.stringify(variantText)}: float16 or uint8`);
      variant = variantText;
    }
    const latest = versionText === 'latest';
    const version = latest ? 'latest' : Number(versionText);
    if (version !== 'latest' && !(Number.isInteger(version) && version > 0)) {
      throw new HttpError(400, `bad version ${JSON.stringify(versionText)}: a positive integer or "latest"`);
    }
    const isPublic = access.owners.isPublic(name);
    if (!isPublic) await authenticated(req, query, true);
    const immutable = isPublic ? IMMUTABLE : IMMUTABLE.replace('public', 'private');
    const revalidate = isPublic ? REVALIDATE : `private, ${REVALIDATE}`;
    let model: ResolvedModel;
    try {
      model = await registry.resolve(name, version);
    } catch (err) {
      if (err instanceof ModelNotFoundError) throw new HttpError(404, err.message);
      throw err;
    }
    const folder = variant === 'float32' ? `${model.version}` : `${model.version}/${variant}`;
    if (latest && file !== 'model.json') {
      // Shards only by explicit version, so a publish between two requests cannot mix versions.
      throw new HttpError(404, `shards are served by version; use /v1/models/${name}/${folder}/${file}`);
    }
    const versionHeader = String(model.version);
    if (file === 'model.json') {
      // A version's model.json never changes, so its name, version and variant identify it.
      const etag = `"${model.name}-${model.version}-${variant}"`;
      const headers = { 'x-syncline-version': versionHeader, 'cache-control': latest ? revalidate : immutable, etag };
      // Checked before anything is read: a revalidation costs a lookup in the version index.
      if (matches(req.headers['if-none-match'], etag)) return send(res, 304, '', headers);
      const json = await registry.servedModelJson(model, variant);
      if (!json) throw new HttpError(404, `${name}@${folder} has no model.json`);
      // Node leaves the body out of a HEAD answer itself, keeping its content-length.
      return send(res, 200, json.body, { ...headers, 'content-type': 'application/json' });
    }
    const shard = variant === 'float32' ? await registry.readFile(model, file) : await registry.readVariantFile(model, variant, file);
    if (!shard) throw new HttpError(404, `${name}@${folder} has no file ${file}`);
    const headers = {
      'x-syncline-version': versionHeader,
      'content-type': 'application/octet-stream',
      'cache-control': immutable,
      'accept-ranges': 'bytes',
      etag: shard.etag,
    };
    if (matches(req.headers['if-none-match'], shard.etag)) return send(res, 304, '', headers);
    // If-Range: a range only of the bytes the client already has part of.
    const ifRange = req.headers['if-range'];
    const range = ifRange === undefined || ifRange === shard.etag ? parseRange(req.headers.range, shard.body.byteLength) : { kind: 'whole' as const };
    if (range.kind === 'unsatisfiable') {
      return send(res, 416, '', { ...headers, 'content-range': `bytes */${shard.body.byteLength}` });
    }
    if (range.kind === 'range') {
      return send(res, 206, shard.body.subarray(range.start, range.end + 1), {
        ...headers,
        'content-range': `bytes ${range.start}-${range.end}/${shard.body.byteLength}`,
      });
    }
    send(res, 200, shard.body, headers);
  }

  return {
    /** `parts`: the path's segments after /v1/models. */
    async handle(req: IncomingMessage, res: ServerResponse, parts: string[], query: URLSearchParams): Promise<void> {
      if (parts.length === 0) {
        const base = baseUrl();
        // Private models are listed only to a request with a token.
        const all = await authenticated(req, query, false);
        return sendJson(
          res,
          200,
          {
            models: registry
              .listLatest()
              .filter((m) => all || access.owners.isPublic(m.name))
              .map((m) => ({ name: m.name, version: m.version, jobId: m.jobId, url: `${base}/v1/models/${m.name}/${m.version}/model.json` })),
          },
          all ? 'private, no-cache' : REVALIDATE,
        );
      }
      if (parts.length === 3 || parts.length === 4) return serveFile(req, res, parts, query);
      throw new HttpError(404, `no route for /v1/models/${parts.join('/')}`);
    },
  };
}

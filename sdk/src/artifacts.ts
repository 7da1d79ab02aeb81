// Gets a model's model.json and shards as tfjs artifacts: from the cache where it has them,
// else over fetch; every shard verified against its sha256 wherever it came from, and only
// verified bytes written to the cache. tfjs never touches the network itself.
import type { io } from '@tensorflow/tfjs-core';
import type { ModelCache } from './cache.js';
import { ModelIntegrityError, ModelLoadError } from './errors.js';
import { get, readBytes, readText, type Fetch } from './http.js';
import { matchesShard, verifyGroupLength, verifyShard, type Shard } from './integrity.js';
import { parseModelJson, type ShardGroup, type SynclineModelJson } from './manifest.js';
import { backoffMs, mayPass, pause } from './retry.js';
import { verifyModelSignature } from './signature.js';
import { locationUrl, parseModelUrl, shardBaseUrl, type Quantization } from './source.js';

export interface FetchContext {
  /** Asks again after a failure that may pass (retry.ts). */
  fetch: Fetch;
  /** The same, asking once: where a cached copy can stand in at once. */
  fetchOnce: Fetch;
  /** How many times a shard whose body is cut off mid-way is downloaded again (LoadOptions.retries). */
  retries: number;
  cache: ModelCache | undefined;
  /** When set, every model.json must be signed by one of these keys (signature.ts). */
  trustedKeys?: readonly string[];
}

/** What the request asked for, checked against what model.json says. */
export interface Expected {
  name?: string;
  quantization?: Quantization;
}

export interface Manifest {
  json: SynclineModelJson;
  /** The model.json URL the manifest is for, pinned to its version where the layout allows. */
  url: URL;
  fromCache: boolean;
}

export interface FetchedModel {
  manifest: SynclineModelJson;
  artifacts: io.ModelArtifacts;
  /** The cache entries this version uses, to drop when it is replaced. */
  cacheKeys: string[];
}

const VERSION_HEADER = 'x-syncline-version';

/** The model.json URL of the same model pinned to `version` (itself, outside the coordinator's layout). */
function pinned(url: URL, version: number): URL {
  const location = parseModelUrl(url);
  return location === undefined ? url : locationUrl({ ...location, version });
}

async function decodeManifest(text: string, url: URL, context: FetchContext): Promise<SynclineModelJson> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new ModelLoadError(url.href, 'body is not valid JSON', { cause });
  }
  const json = parseModelJson(body, url.href);
  if (context.trustedKeys !== undefined) await verifyModelSignature(body as Record<string, unknown>, url.href, context.trustedKeys);
  return json;
}

function checkManifest(json: SynclineModelJson, url: URL, expected: Expected, announced: string | null): void {
  const { name, version, quantization } = json.syncline;
  if (expected.name !== undefined && name !== expected.name) {
    throw new ModelLoadError(url.href, `asked for model ${JSON.stringify(expected.name)}, model.json is ${JSON.stringify(name)}`);
  }
  if (announced !== null && Number(announced) !== version) {
    throw new ModelLoadError(url.href, `${VERSION_HEADER} says ${announced} but model.json says ${version}`);
  }
  const location = parseModelUrl(url);
  if (typeof location?.version === 'number' && location.version !== version) {
    throw new ModelLoadError(url.href, `asked for version ${location.version}, model.json says ${version}`);
  }
  const wanted = expected.quantization ?? location?.quantization;
  if (wanted !== undefined && wanted !== quantization) {
    throw new ModelLoadError(url.href, `asked for the ${wanted} variant, model.json is ${quantization}`);
  }
}

/**
 * model.json for `url`. A pinned version is immutable, so a cached copy is used without asking
 * the server; `latest` always asks (the browser's HTTP cache turns that into a revalidation),
 * and falls back to the last cached `latest` when the network is unreachable.
 */
export async function fetchManifest(url: URL, expected: Expected, context: FetchContext, readCache = true): Promise<Manifest> {
  const { cache } = context;
  const isLatest = parseModelUrl(url)?.version === 'latest';
  const cacheable = cache !== undefined && parseModelUrl(url) !== undefined;
  if (cacheable && readCache && !isLatest) {
    const cached = await fromCache(cache, url, expected, context);
    if (cached !== undefined) return cached;
  }
  // `latest` with a cached copy: when the registry is unreachable or answers 502–504, the cached
  // copy serves at once (no retries first); without one, the request is retried as any other.
  const fallBack = cacheable && readCache && isLatest;
  let response: Response;
  try {
    response = await get(fallBack ? context.fetchOnce : context.fetch, url);
  } catch (error) {
    const passing = error instanceof ModelLoadError && mayPass(error.status);
    if (!(passing && fallBack)) throw error;
    const cached = await fromCache(cache, url, expected, context);
    if (cached !== undefined) return cached;
    response = await get(context.fetch, url);
  }
  const text = await readText(response, url);
  const json = await decodeManifest(text, url, context);
  checkManifest(json, url, expected, response.headers.get(VERSION_HEADER));
  const versioned = pinned(url, json.syncline.version);
  if (cacheable) {
    // Text coding only where there is a cache: React Native's Hermes has no TextDecoder.
    const bytes = new TextEncoder().encode(text);
    await cache.put(versioned.href, bytes.buffer);
    if (isLatest) await cache.put(url.href, bytes.buffer);
  }
  return { json, url: versioned, fromCache: false };
}

async function fromCache(cache: ModelCache, url: URL, expected: Expected, context: FetchContext): Promise<Manifest | undefined> {
  const bytes = await cache.get(url.href);
  if (bytes === undefined) return undefined;
  try {
    const json = await decodeManifest(new TextDecoder().decode(bytes), url, context);
    checkManifest(json, url, expected, null);
    return { json, url: pinned(url, json.syncline.version), fromCache: true };
  } catch {
    // Unreadable or not what was asked for: drop it and ask the server.
    await cache.delete(url.href);
    return undefined;
  }
}

/**
 * Fetches `url`'s model: manifest, then shards. When a cached manifest leads to shards that fail
 * their digests, the manifest itself may be the corrupt entry: it is dropped and the load is
 * retried once from the network.
 */
export async function fetchModel(
  url: URL,
  expected: Expected,
  context: FetchContext,
  onProgress?: (fraction: number) => void,
): Promise<FetchedModel> {
  const manifest = await fetchManifest(url, expected, context);
  try {
    return await fetchWeights(manifest, context, onProgress);
  } catch (error) {
    if (!(error instanceof ModelIntegrityError) || !manifest.fromCache || context.cache === undefined) throw error;
    await context.cache.delete(manifest.url.href);
    return fetchWeights(await fetchManifest(url, expected, context, false), context, onProgress);
  }
}

/** Shards for a manifest already in hand, verified, as tfjs artifacts. */
export async function fetchWeights(manifest: Manifest, context: FetchContext, onProgress?: (fraction: number) => void): Promise<FetchedModel> {
  const { json } = manifest;
  const base = shardBaseUrl(manifest.url, json.syncline.version);
  const progress = progressReporter(
    json.weightsManifest.reduce((n, g) => n + g.byteLength, 0),
    onProgress,
  );
  const groups = await Promise.all(
    json.weightsManifest.map(async (group) => {
      const shards = await Promise.all(group.shards.map((spec) => fetchShard(group, spec, base, context, progress.add)));
      verifyGroupLength(group, shards);
      return shards;
    }),
  );
  progress.done();
  const cacheable = context.cache !== undefined && parseModelUrl(manifest.url) !== undefined;
  return {
    manifest: json,
    artifacts: {
      format: json.format,
      ...(json.generatedBy !== undefined && { generatedBy: json.generatedBy }),
      ...(json.convertedBy !== undefined && { convertedBy: json.convertedBy }),
      modelTopology: json.modelTopology,
      // tfjs reads the groups' bytes as one buffer, in manifest order.
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: groups.flatMap((shards) => shards.map((s) => s.bytes)),
    },
    cacheKeys: [...(cacheable ? [manifest.url.href] : []), ...groups.flat().map((s) => s.url.href)],
  };
}

async function fetchShard(
  group: ShardGroup,
  spec: ShardGroup['shards'][number],
  base: URL,
  { fetch, cache, retries }: FetchContext,
  onBytes: (count: number) => void,
): Promise<Shard> {
  const url = new URL(spec.path, base);
  // Paths are relative to the model's folder; one that leaves it is not ours to fetch.
  if (!url.href.startsWith(base.href)) {
    throw new ModelLoadError(url.href, `shard path ${JSON.stringify(spec.path)} leaves the model's folder`);
  }
  if (cache !== undefined) {
    const cached = await cache.get(url.href);
    if (cached !== undefined) {
      if (await matchesShard(group, spec, url, cached)) {
        onBytes(cached.byteLength);
        return { ...spec, url, bytes: cached };
      }
      // A corrupt or stale entry: forget it and download the shard again.
      await cache.delete(url.href);
    }
  }
  const shard = { ...spec, url, bytes: await download(url, fetch, retries, onBytes) };
  await verifyShard(group, shard);
  await cache?.put(url.href, shard.bytes);
  return shard;
}

/**
 * A shard's bytes. A body cut off mid-way (a connection reset) is downloaded again, up to
 * `retries` times, and its partial bytes are taken back from the progress count; a failed
 * request is retried by `fetchFn` itself.
 */
async function download(url: URL, fetchFn: Fetch, retries: number, onBytes: (count: number) => void): Promise<ArrayBuffer> {
  for (let attempt = 0; ; attempt++) {
    const response = await get(fetchFn, url);
    let counted = 0;
    try {
      return await readBytes(response, url, (count) => {
        counted += count;
        onBytes(count);
      });
    } catch (error) {
      onBytes(-counted);
      if (attempt >= retries) throw error;
      await pause(backoffMs(attempt));
    }
  }
}

/** Turns byte counts into monotone fractions, so parallel shard downloads report one progress. */
function progressReporter(totalBytes: number, onProgress: ((fraction: number) => void) | undefined) {
  let received = 0;
  let reported = 0;
  const report = (fraction: number) => {
    if (onProgress === undefined || fraction <= reported) return;
    reported = fraction;
    onProgress(fraction);
  };
  return {
    // Held below 1 until every shard is in, even when shards are longer than the manifest says;
    // bytes of a download cut off come back as a negative count (the fraction never falls).
    add: (count: number) => {
      received += count;
      if (totalBytes > 0) report(Math.min(received / totalBytes, 0.99));
    },
    done: () => report(1),
  };
}

// loadModel: picks the backend while the model downloads (artifacts.ts), builds it with
// tfjs-layers from memory, and gives the model what it needs to fetch its own newer versions.
import * as tfl from '@tensorflow/tfjs-layers';
import { fetchManifest, fetchModel, fetchWeights, type FetchContext, type FetchedModel } from './artifacts.js';
import { selectBackend, type BackendName } from './backend.js';
import { defaultCache, type ModelCache } from './cache.js';
import { ModelLoadError } from './errors.js';
import type { Fetch } from './http.js';
import { SynclineModel, type LoadedVersion, type ModelUpdates } from './model.js';
import { DEFAULT_RETRIES, withRetries } from './retry.js';
import { locate, locationUrl, type ModelLocation, type ModelSource, type Quantization } from './source.js';

export interface LoadOptions {
  /** Defaults to the global fetch; React Native or tests can pass their own. */
  fetch?: Fetch;
  /** A Syncline token, sent as `Authorization: Bearer <token>`: needed for private models. */
  token?: string;
  /** Fraction (0..1) of the weight bytes in hand (downloaded or read from cache), non-decreasing; the last call is 1. */
  onProgress?: (fraction: number) => void;
  /**
   * Preferred backend; when it cannot start here the default order is tried (webgpu, webgl,
   * wasm, cpu in a browser; wasm, cpu in Node). Any backend registered with tfjs-core by
   * another package can be named too.
   */
  backend?: BackendName | (string & {});
  /** Which variant to load: the published float32 (default) or one the coordinator derives. */
  quantization?: Quantization;
  /**
   * Where to keep the files between loads; `false` for none. Defaults to the Cache API where
   * there is one (browsers), none elsewhere. Whatever comes out of it is verified again.
   */
  cache?: ModelCache | false;
  /**
   * Ed25519 public keys (base64, as the coordinator's GET /v1/keys lists them) of which one must
   * have signed the model: an unsigned model, one signed by another key, or one altered after
   * signing is refused with ModelSignatureError. Without it, signatures are not checked.
   */
  trustedKeys?: readonly string[];
  /**
   * How many times a request is asked again after a network failure or a 502, 503 or 504
   * answer (with pauses of 250 ms, 500 ms, … or what Retry-After asks, at most 10 s), and a
   * shard whose download is cut off mid-way fetched again; default 2, 0 for none. Other
   * answers (404, 403, …) are final.
   */
  retries?: number;
}

function withToken(fetchFn: Fetch, token: string | undefined): Fetch {
  if (!token) return fetchFn;
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetchFn(input, { ...init, headers });
  };
}

/**
 * Loads a published model. Throws ModelLoadError when it cannot be fetched or is not a
 * Syncline layers model, ModelIntegrityError when a shard does not match its manifest, and
 * TypeError when `source` cannot name a model.
 */
export async function loadModel(source: ModelSource, options: LoadOptions = {}): Promise<SynclineModel> {
  const { url, location } = locate(source, options.quantization);
  const fetchOnce = withToken(options.fetch ?? globalThis.fetch.bind(globalThis), options.token);
  const retries = options.retries ?? DEFAULT_RETRIES;
  if (!Number.isInteger(retries) || retries < 0) throw new TypeError(`options.retries must be a whole number, 0 or more; got ${retries}`);
  const context: FetchContext = {
    fetch: withRetries(fetchOnce, retries),
    fetchOnce,
    retries,
    cache: options.cache === false ? undefined : (options.cache ?? defaultCache()),
    ...(options.trustedKeys !== undefined ? { trustedKeys: options.trustedKeys } : {}),
  };
  const expected = {
    ...(typeof source !== 'string' && { name: source.name }),
    ...(options.quantization !== undefined && { quantization: options.quantization }),
  };
  // The backend's start (compiling wasm, say) overlaps the downloads.
  const [backend, fetched] = await Promise.all([selectBackend(options.backend), fetchModel(url, expected, context, options.onProgress)]);
  const loaded = await build(fetched, url);
  try {
    return new SynclineModel(
      loaded.model,
      { name: fetched.manifest.syncline.name, version: loaded.version, backend, quantization: fetched.manifest.syncline.quantization, ...(loaded.classNames && { classNames: loaded.classNames }), ...(loaded.conditionClasses && { conditionClasses: loaded.conditionClasses }) },
      { cacheKeys: loaded.cacheKeys, ...(location !== undefined && { updates: updates(location, fetched.manifest.syncline.name, context) }) },
    );
  } catch (cause) {
    loaded.model.dispose();
    throw new ModelLoadError(url.href, 'the model is not usable through the SDK', { cause });
  }
}

async function build(fetched: FetchedModel, url: URL): Promise<LoadedVersion> {
  try {
    const model = await tfl.loadLayersModel({ load: async () => fetched.artifacts });
    const { classNames, conditionClasses } = fetched.manifest.syncline;
    return { model, version: fetched.manifest.syncline.version, cacheKeys: fetched.cacheKeys, ...(classNames && { classNames }), ...(conditionClasses && { conditionClasses }) };
  } catch (cause) {
    throw new ModelLoadError(url.href, 'tfjs-layers could not build the model', { cause });
  }
}

/** Newer versions of the same model and variant, through `latest`. */
function updates(location: ModelLocation, name: string, context: FetchContext): ModelUpdates {
  const latest = locationUrl({ ...location, version: 'latest' });
  const expected = { name, quantization: location.quantization };
  return {
    async latestVersion() {
      return (await fetchManifest(latest, expected, context)).json.syncline.version;
    },
    async loadNewer(current) {
      const manifest = await fetchManifest(latest, expected, context);
      if (manifest.json.syncline.version <= current) return undefined;
      return build(await fetchWeights(manifest, context), latest);
    },
    async evict(keys) {
      await Promise.all(keys.map((key) => context.cache?.delete(key)));
    },
  };
}
